// The deployment artefacts, checked against real tools and the harness's kube-apiserver:
//   (a) docker-compose.yml validates against the Compose specification's schema, and sets every
//       variable the worker and the API read (derived from the code, not from a list);
//   (b) each kustomize overlay renders, and the apiserver accepts every rendered object
//       (server-side apply, server dry run); the monitoring component scrapes ports that exist
//       and pass the network policies, and alerts only on series claimflow exports, as its unit
//       tests say (promtool test rules);
//   (c) the worker's RBAC, applied for real, allows exactly what the worker does and the API's
//       service account nothing (kubectl auth can-i, impersonating the service accounts);
//   (d) the Crossplane XRD and Composition parse, agree with each other, with the claim CRD
//       (generated from the XRD), with the StackGres CRDs and with the simulator's composition.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { DCLinter } from 'dclint';
import { parse, parseAllDocuments } from 'yaml';
import { CLAIM_CRD_PATH, ROOT, XRD_PATH, renderClaimCrd } from '../../scripts/generate-claim-crd.js';
import { MONITORING_DIR, readAlertUnitTests, testAlertRules } from '../../scripts/test-alert-rules.js';
import { COMPOSITION, OBJECT_STORAGE, renderCluster } from '../../simulator/claims.js';
import type { Claim } from '../../simulator/types.js';
import { SIZES } from '../../src/domain/sizes.js';
import { WORKFLOW_THREADS_PRELOAD, workflowHeapWarning } from '../../src/worker/workflow-threads.js';
import { testEnv, uniqueName } from '../support/env.js';
import { isPrometheusDuration, labelsKept, promqlProblems, templateLabels } from '../support/promql.js';

const file = (...parts: string[]) => join(ROOT, ...parts);
const read = (...parts: string[]) => readFileSync(file(...parts), 'utf8');
const yamlDocs = (text: string): any[] =>
  parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]!.message}`);
    const value = doc.toJS({ maxAliasCount: 100 });
    return value === null || value === undefined ? [] : [value];
  });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

const kubectl = (args: string[], input?: string) =>
  run(join(testEnv.toolchainBin, 'kubectl'), ['--kubeconfig', testEnv.kubeconfigPath, ...args], input);

async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

const toYaml = (objects: unknown[]) => objects.map((o) => JSON.stringify(o)).join('\n---\n');

// ---------------------------------------------------------------------------------------------
// (a) docker-compose.yml
// ---------------------------------------------------------------------------------------------

/** Every variable src/config/env.ts declares. */
function declaredVariables(): string[] {
  const source = read('src', 'config', 'env.ts');
  const body = /z\.object\(\{([\s\S]*?)\n\}\)/.exec(source)?.[1];
  assert.ok(body, 'src/config/env.ts: could not find the z.object({...}) of the environment');
  return [...body.matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
}

function sourceFiles(path: string): string[] {
  const full = file(path);
  if (statSync(full).isFile()) return [full];
  return readdirSync(full, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(path, entry.name)) : entry.name.endsWith('.ts') ? [join(full, entry.name)] : [],
  );
}

/** Variables a process reads: `env.X` (the parsed config) and `process.env.X` in its own code. */
function variablesReadBy(paths: string[]): Set<string> {
  const found = new Set<string>();
  for (const path of paths.flatMap(sourceFiles)) {
    const text = readFileSync(path, 'utf8');
    for (const m of text.matchAll(/\b(?:process\.)?env\.([A-Z][A-Z0-9_]*)\b/g)) found.add(m[1]!);
    for (const m of text.matchAll(/\bprocess\.env\[['"]([A-Z][A-Z0-9_]*)['"]\]/g)) found.add(m[1]!);
  }
  return found;
}

const SERVICE_CODE = { worker: ['worker.ts', 'src/worker'], api: ['src/api'] } as const;

const compose = () => parse(read('docker-compose.yml'), { merge: true });
const environmentOf = (service: any): Record<string, string> => {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  return Object.fromEntries(env.map((entry: string) => [entry.split('=')[0]!, entry.slice(entry.indexOf('=') + 1)]));
};

/** Where the Dockerfile's build stage writes the workflow bundle, as an absolute path in the image. */
function bundlePathInImage(): string {
  const dockerfile = read('Dockerfile');
  const bundled = /RUN node --import tsx scripts\/bundle-workflows\.ts (\S+)/.exec(dockerfile)?.[1];
  assert.ok(bundled, 'the Dockerfile does not run scripts/bundle-workflows.ts');
  const copied = new RegExp(`COPY --from=build /app/${bundled.replace(/[.]/g, '\\.')} (\\S+)`).exec(dockerfile)?.[1];
  assert.ok(copied, `the runtime stage does not copy ${bundled} from the build stage`);
  return copied.startsWith('/') ? copied : `/app/${copied.replace(/^\.\//, '')}`;
}

describe('docker-compose.yml', () => {
  const lint = (path: string) => {
    const linter = new DCLinter({ rules: {}, quiet: false, debug: false, exclude: [] });
    return linter.lintFiles([path], false);
  };

  test('validates against the Compose specification schema (and dclint finds no error)', () => {
    const [result] = lint(file('docker-compose.yml'));
    assert.ok(result, 'dclint did not lint docker-compose.yml');
    const errors = result.messages.filter((m: any) => m.type === 'error');
    assert.deepEqual(errors.map((m: any) => `${m.rule}: ${m.message}`), []);
  });

  test('the schema validation does catch a broken compose file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'claimflow-compose-'));
    try {
      const broken = join(dir, 'docker-compose.yml');
      writeFileSync(broken, 'name: x\nservices:\n  web:\n    image: "nginx:1.27"\n    healthcheck:\n      test: 5\n      every: 3s\n');
      const [result] = lint(broken);
      assert.ok(result?.messages.some((m: any) => m.rule === 'invalid-schema'), JSON.stringify(result?.messages));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('has the production-like services, pinned images, healthchecks and valid dependencies', () => {
    const { services, volumes } = compose();
    for (const name of ['postgres', 'temporal-schema', 'temporal', 'temporal-namespace', 'temporal-ui', 'worker', 'api']) {
      assert.ok(services[name], `service ${name} is missing`);
    }
    assert.match(services.postgres.image, /^postgres:16\.\d+/);
    assert.ok(services.postgres.volumes.some((v: string) => v.startsWith('postgres-data:')), 'PostgreSQL data must be on a volume');
    assert.ok(volumes && 'postgres-data' in volumes);
    assert.equal(environmentOf(services.temporal).DB, 'postgres12');
    assert.match(services.temporal.image, /^temporalio\/server:\d+\.\d+\.\d+$/);
    assert.match(services['temporal-ui'].image, /^temporalio\/ui:\d+\.\d+\.\d+$/);
    for (const [name, service] of Object.entries<any>(services)) {
      if (service.image && !service.build) assert.match(service.image, /:[0-9][\w.-]*$/, `${name}: pin the image to a version`);
      for (const [dependency, how] of Object.entries<any>(service.depends_on ?? {})) {
        assert.ok(services[dependency], `${name} depends on unknown service ${dependency}`);
        if (how.condition === 'service_healthy') assert.ok(services[dependency].healthcheck, `${name} waits for ${dependency} to be healthy, which has no healthcheck`);
      }
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : String(volume.source);
        if (source.startsWith('./')) assert.ok(existsSync(file(source)), `${name} mounts ${source}, which does not exist`);
      }
    }
    for (const name of ['postgres', 'temporal', 'worker', 'api']) assert.ok(services[name].healthcheck?.test, `${name} needs a healthcheck`);
    assert.match(services.api.healthcheck.test.join(' '), /127\.0\.0\.1:3000\/healthz/);
    // Temporal starts only on a set-up schema; the app only on a ready namespace
    assert.equal(services.temporal.depends_on['temporal-schema'].condition, 'service_completed_successfully');
    for (const name of ['worker', 'api']) {
      assert.equal(services[name].depends_on['temporal-namespace'].condition, 'service_completed_successfully');
      assert.equal(services[name].depends_on.postgres.condition, 'service_healthy');
      assert.equal(services[name].build.dockerfile, 'Dockerfile');
      assert.equal(services[name].read_only, true, `${name}: read-only root filesystem`);
      assert.ok(!String(services[name].user ?? '').startsWith('0'), `${name} must not run as root`);
    }
  });

  test('the Dockerfile is multi-stage: npm ci and the workflow bundle, then a non-root runtime without dev dependencies', () => {
    const dockerfile = read('Dockerfile');
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:20\.\d+\.\d+-bookworm-slim$/m);
    assert.match(dockerfile, /^FROM \$\{NODE_IMAGE\} AS build$/m);
    assert.match(dockerfile, /^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    assert.match(runtime, /npm ci --omit=dev/);
    assert.match(runtime, /^USER (?!0\b|root\b)\S+/m);
    assert.equal(bundlePathInImage(), '/app/dist/workflow-bundle.js');
    const ignored = read('.dockerignore').split('\n');
    assert.ok(ignored.includes('*'), '.dockerignore should exclude everything not copied explicitly');
    for (const copied of ['package.json', 'package-lock.json', 'worker.ts', 'src/', 'scripts/bundle-workflows.ts']) {
      assert.ok(ignored.includes(`!${copied}`), `.dockerignore must let ${copied} into the build context`);
    }
  });

  test('sets every variable the worker and the API read, with the same shared values', () => {
    const { services } = compose();
    const declared = declaredVariables();
    const setSomewhere = new Set<string>();
    for (const [name, paths] of Object.entries(SERVICE_CODE)) {
      const env = environmentOf(services[name]);
      Object.keys(env).forEach((k) => setSomewhere.add(k));
      const reads = [...variablesReadBy([...paths])].sort();
      assert.ok(reads.length > 3, `found no variables read by ${name}: is the scan broken?`);
      const missing = reads.filter((v) => !(v in env));
      assert.deepEqual(missing, [], `${name} reads ${missing.join(', ')}, which docker-compose.yml does not set`);
      for (const v of reads) assert.ok(declared.includes(v) || v === 'WORKER_WORKFLOW_BUNDLE', `${name} reads ${v}, which src/config/env.ts does not declare`);
    }
    const unset = declared.filter((v) => !setSomewhere.has(v));
    assert.deepEqual(unset, [], `declared in src/config/env.ts but set for neither the worker nor the API: ${unset.join(', ')}`);
    const worker = environmentOf(services.worker);
    const api = environmentOf(services.api);
    for (const key of Object.keys(worker).filter((k) => k in api)) assert.equal(worker[key], api[key], `${key} differs between worker and api`);
    assert.equal(worker.WORKER_WORKFLOW_BUNDLE, bundlePathInImage(), 'the worker must load the bundle the image contains');
    assert.equal(worker.KUBECONFIG, services.worker.volumes.find((v: any) => typeof v === 'object' && v.target === worker.KUBECONFIG)?.target, 'KUBECONFIG must name the mounted kubeconfig');
    assert.equal(api.CLAIMFLOW_API_HOST, '0.0.0.0', 'the API must listen on all interfaces inside its container');
    assert.ok(services.api.ports.some((p: string) => p.endsWith(`:${api.CLAIMFLOW_API_PORT}`)));
    for (const key of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE']) {
      assert.equal(worker[key], environmentOf(services['temporal-namespace'])[key === 'TEMPORAL_ADDRESS' ? key : 'CLAIMFLOW_NAMESPACE']);
    }
  });

  test('docs/deploy.md documents every variable', () => {
    const docs = read('docs', 'deploy.md');
    const missing = [...declaredVariables(), 'WORKER_WORKFLOW_BUNDLE'].filter((v) => !docs.includes(`\`${v}\``));
    assert.deepEqual(missing, [], `docs/deploy.md does not document ${missing.join(', ')}`);
  });
});

// ---------------------------------------------------------------------------------------------
// (b) kustomize overlays against the apiserver
// ---------------------------------------------------------------------------------------------

const OVERLAYS = ['dev', 'production'] as const;
const renders = new Map<string, any[]>();
async function render(overlay: string): Promise<any[]> {
  if (!renders.has(overlay)) renders.set(overlay, yamlDocs(await kubectlOk(['kustomize', `deploy/kubernetes/overlays/${overlay}`])));
  return renders.get(overlay)!;
}
const ofKind = (objects: any[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: any[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('deploy/kubernetes', () => {
  for (const overlay of OVERLAYS) {
    test(`overlays/${overlay} renders and the apiserver accepts every object (server-side apply, dry run)`, async () => {
      const objects = await render(overlay);
      const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      for (const expected of [
        'Namespace/claimflow-system', 'ConfigMap/claimflow-config', 'ServiceAccount/claimflow-worker', 'ServiceAccount/claimflow-api',
        'ClusterRole/claimflow-worker', 'ClusterRoleBinding/claimflow-worker', 'Deployment/claimflow-worker', 'Deployment/claimflow-api',
        'Service/claimflow-api',
      ]) assert.ok(kinds.includes(expected), `overlays/${overlay} lacks ${expected} (has ${kinds.join(', ')})`);
      for (const o of objects) {
        if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) assert.equal(o.metadata.namespace, 'claimflow-system', `${o.kind}/${o.metadata.name}`);
      }
      // The namespace must exist for a dry run of what goes into it; it is harmless on this apiserver.
      await kubectlOk(['apply', '--server-side', '--field-manager=claimflow-packaging-test', '-f', '-'], toYaml(ofKind(objects, 'Namespace')));
      const out = await kubectlOk(['apply', '--server-side', '--dry-run=server', '--field-manager=claimflow-packaging-test', '-f', '-'], toYaml(objects));
      const applied = out.split('\n').filter((line) => /serverside-applied \(server dry run\)|unchanged \(server dry run\)/.test(line));
      assert.equal(applied.length, objects.length, out);
    });
  }

  test('the pods run non-root, read-only, without privileges, with resources and probes', async () => {
    for (const overlay of OVERLAYS) {
      for (const deployment of ofKind(await render(overlay), 'Deployment')) {
        const where = `${overlay}: ${deployment.metadata.name}`;
        const pod = deployment.spec.template.spec;
        assert.equal(pod.securityContext.runAsNonRoot, true, where);
        assert.ok(pod.securityContext.runAsUser > 0, where);
        assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', where);
        for (const c of pod.containers) {
          assert.equal(c.securityContext.readOnlyRootFilesystem, true, where);
          assert.equal(c.securityContext.allowPrivilegeEscalation, false, where);
          assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], where);
          assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, `${where}: requests and a memory limit`);
          assert.ok(c.livenessProbe, `${where}: liveness probe`);
          assert.ok(c.volumeMounts.some((m: any) => m.mountPath === '/tmp'), `${where}: a writable /tmp`);
          assert.ok(c.envFrom.some((e: any) => e.configMapRef?.name === 'claimflow-config'), where);
          assert.ok(c.env.some((e: any) => e.name === 'DATABASE_URL' && e.valueFrom.secretKeyRef.key === 'url'), `${where}: DATABASE_URL from a Secret`);
        }
      }
      const objects = await render(overlay);
      const api = named(objects, 'Deployment', 'claimflow-api').spec.template.spec;
      assert.equal(api.serviceAccountName, 'claimflow-api');
      assert.equal(api.automountServiceAccountToken, false, 'the API gets no Kubernetes token');
      assert.equal(api.containers[0].readinessProbe.httpGet.path, '/readyz');
      assert.equal(api.containers[0].livenessProbe.httpGet.path, '/healthz');
      const worker = named(objects, 'Deployment', 'claimflow-worker').spec.template.spec;
      assert.equal(worker.serviceAccountName, 'claimflow-worker');
      assert.ok(worker.terminationGracePeriodSeconds * 1000 > Number(named(objects, 'ConfigMap', 'claimflow-config').data.WORKER_SHUTDOWN_GRACE_MS));
    }
    const production = await render('production');
    for (const d of ofKind(production, 'Deployment')) {
      assert.ok(d.spec.replicas >= 2, `production: ${d.metadata.name} replicas`);
      assert.doesNotMatch(d.spec.template.spec.containers[0].image, /:local$|^claimflow$/, 'production: a released image');
    }
    assert.equal(ofKind(production, 'PodDisruptionBudget').length, 2);
    assert.equal(ofKind(production, 'Secret').length, 0, 'production: the database Secret comes from the cluster, not from git');
  });

  test('every deployment starts the worker alike: node, tsx, then the preload of its workflow threads', async () => {
    const expected = ['node', '--import', 'tsx', '--import', `./${relative(ROOT, WORKFLOW_THREADS_PRELOAD)}`, 'worker.ts'];
    const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    assert.ok(cmd, 'the Dockerfile has no CMD in exec form');
    const commands: Record<string, string[]> = {
      Dockerfile: JSON.parse(cmd) as string[],
      'docker-compose.yml': compose().services.worker.command,
      'package.json (npm run worker)': (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.worker!.split(' '),
    };
    for (const overlay of OVERLAYS) commands[`overlays/${overlay}`] = named(await render(overlay), 'Deployment', 'claimflow-worker').spec.template.spec.containers[0].command;
    for (const [where, command] of Object.entries(commands)) assert.deepEqual(command, expected, where);
  });

  // --max-old-space-size caps each V8 isolate, not the process: the worker's main thread through
  // NODE_OPTIONS and its workflow threads through WORKER_WORKFLOW_HEAP_MB. Off the heaps an idle
  // worker holds about 250 MiB (code, the SDK's core, the scheduled queue's small thread; BENCHMARKS.md).
  // A cache the thread's cap cannot hold would end the worker out of memory once that many are open.
  test("the worker's heaps fit its memory limit, and its workflow cache fits its workflow threads' heap", async () => {
    const OFF_HEAP_MIB = 256;
    const mebibytes = (quantity: string) => {
      const [, amount, unit] = /^(\d+)(Mi|Gi)$/.exec(quantity) ?? [];
      assert.ok(amount && unit, `a memory quantity in Mi or Gi: ${quantity}`);
      return Number(amount) * (unit === 'Gi' ? 1024 : 1);
    };
    for (const overlay of OVERLAYS) {
      const objects = await render(overlay);
      const container = named(objects, 'Deployment', 'claimflow-worker').spec.template.spec.containers[0];
      const nodeOptions: string = container.env.find((e: any) => e.name === 'NODE_OPTIONS')?.value ?? '';
      const mainHeap = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]);
      assert.ok(mainHeap > 0, `${overlay}: NODE_OPTIONS caps the main thread's heap (${nodeOptions})`);
      const config = named(objects, 'ConfigMap', 'claimflow-config').data;
      const threadHeap = Number(config.WORKER_WORKFLOW_HEAP_MB);
      assert.ok(threadHeap > 0, `${overlay}: WORKER_WORKFLOW_HEAP_MB caps the workflow threads' heaps`);
      const cache = Number(config.WORKER_MAX_CACHED_WORKFLOWS);
      assert.ok(cache > 0, `${overlay}: WORKER_MAX_CACHED_WORKFLOWS is set`);
      assert.equal(workflowHeapWarning({ WORKER_MAX_CACHED_WORKFLOWS: cache, WORKER_WORKFLOW_HEAP_MB: threadHeap }), undefined, overlay);
      const limit = mebibytes(container.resources.limits.memory);
      assert.ok(mainHeap + threadHeap + OFF_HEAP_MIB <= limit, `${overlay}: ${mainHeap} + ${threadHeap} + ${OFF_HEAP_MIB} MiB > the ${limit} MiB limit`);
    }
  });

  test('the ConfigMap sets every variable the worker and the API read (but the Secret and kubeconfig ones)', async () => {
    const reads = new Set([...variablesReadBy([...SERVICE_CODE.worker]), ...variablesReadBy([...SERVICE_CODE.api])]);
    for (const overlay of OVERLAYS) {
      const data = named(await render(overlay), 'ConfigMap', 'claimflow-config').data;
      const missing = [...reads].filter((v) => !['DATABASE_URL', 'KUBECONFIG'].includes(v) && !(v in data));
      assert.deepEqual(missing, [], `${overlay}: claimflow-config lacks ${missing.join(', ')}`);
      assert.ok(!('KUBECONFIG' in data), 'in the cluster the worker uses its service account, not a kubeconfig');
      assert.ok(!('DATABASE_URL' in data), 'DATABASE_URL holds a password: Secret only');
      assert.equal(data.WORKER_WORKFLOW_BUNDLE, bundlePathInImage());
    }
  });
});

describe('deploy/kubernetes/components/monitoring', () => {
  /** An overlay as a user writes one: production, with the component (rendered once, like render()). */
  let monitored: Promise<any[]> | undefined;
  const renderMonitored = (): Promise<any[]> => (monitored ??= renderWithMonitoring());
  async function renderWithMonitoring(): Promise<any[]> {
    const dir = mkdtempSync(join(tmpdir(), 'claimflow-monitored-'));
    try {
      const to = (path: string) => relative(dir, file(path));
      writeFileSync(join(dir, 'kustomization.yaml'), [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        `resources: [${to('deploy/kubernetes/overlays/production')}]`,
        `components: [${relative(dir, MONITORING_DIR)}]`,
      ].join('\n'));
      return yamlDocs(await kubectlOk(['kustomize', dir]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test("every replica's /metrics can be scraped: the ports exist, the network policies let them through", async () => {
    const objects = await renderMonitored();
    const metricsPort = Number(named(objects, 'ConfigMap', 'claimflow-config').data.WORKER_METRICS_PORT);
    for (const monitor of ofKind(objects, 'PodMonitor')) {
      assert.equal(monitor.metadata.namespace, 'claimflow-system');
      const deployment = ofKind(objects, 'Deployment').find((d) =>
        Object.entries(monitor.spec.selector.matchLabels).every(([key, value]) => d.spec.template.metadata.labels[key] === value));
      assert.ok(deployment, `${monitor.metadata.name} selects a Deployment's pods`);
      const ports = deployment.spec.template.spec.containers[0].ports.map((port: any) => port.name);
      const policy = ofKind(objects, 'NetworkPolicy').find((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/name'] === deployment.metadata.name);
      const allowed = (policy?.spec.ingress ?? []).flatMap((rule: any) => rule.ports.map((port: any) => port.port));
      for (const endpoint of monitor.spec.podMetricsEndpoints) {
        assert.ok(ports.includes(endpoint.port), `${deployment.metadata.name} has a port named ${endpoint.port}`);
        assert.ok(allowed.includes(endpoint.port), `${deployment.metadata.name}'s NetworkPolicy lets ${endpoint.port} in`);
      }
    }
    assert.deepEqual(ofKind(objects, 'PodMonitor').map((m) => m.metadata.name).sort(), ['claimflow-api', 'claimflow-worker']);
    const worker = named(objects, 'Deployment', 'claimflow-worker').spec.template.spec.containers[0];
    assert.equal(worker.ports.find((port: any) => port.name === 'metrics').containerPort, metricsPort, 'the port the worker listens on');
  });

  test('the alerts ask only for series claimflow exports', async () => {
    const { createMetrics } = await import('../../src/observability/metrics.js');
    const exported = new Set((await createMetrics().registry.getMetricsAsJSON()).map((metric) => metric.name));
    const rules = ofKind(await renderMonitored(), 'PrometheusRule').flatMap((rule) => rule.spec.groups.flatMap((group: any) => group.rules));
    assert.ok(rules.length > 0);
    for (const rule of rules) {
      assert.ok(rule.alert && rule.annotations?.summary && ['warning', 'critical'].includes(rule.labels?.severity), `${rule.alert}: a name, a summary, a severity`);
      for (const series of String(rule.expr).match(/claimflow_\w+/g) ?? []) {
        assert.ok(exported.has(series.replace(/_(bucket|count|sum)$/, '')), `${rule.alert} asks for ${series}, which claimflow does not export`);
      }
    }
  });

  test('the alerts fire, stay quiet and read as their unit tests say (promtool test rules, on the rendered PrometheusRule)', async () => {
    const groups = ofKind(await renderMonitored(), 'PrometheusRule').flatMap((rule) => rule.spec.groups);
    const { code, output } = await testAlertRules(join(testEnv.toolchainBin, 'promtool'), groups);
    assert.equal(code, 0, `promtool test rules:\n${output}`);
  });

  test('every alert has a unit test that sees it fire', async () => {
    const alerts = ofKind(await renderMonitored(), 'PrometheusRule').flatMap((rule) => rule.spec.groups.flatMap((group: any) => group.rules.map((r: any) => r.alert)));
    const seenFiring = new Set(readAlertUnitTests().tests.flatMap((t) => (t.alert_rule_test ?? []).filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname)));
    assert.deepEqual(alerts.filter((alert) => !seenFiring.has(alert)), []);
  });

  test("the alerts are PromQL as Prometheus's analyzer reads it, and their annotations use only labels their expression keeps", async () => {
    const rules = ofKind(await renderMonitored(), 'PrometheusRule').flatMap((rule) => rule.spec.groups.flatMap((group: any) => group.rules));
    for (const rule of rules) assert.deepEqual(alertRuleProblems(rule), [], rule.alert);
  });

  test('that check does catch a broken expression, a wrong argument type, a bad duration and a label aggregated away', () => {
    const rule = (expr: string, summary: string, duration = '5m') => ({ alert: 'Broken', expr, for: duration, annotations: { summary } });
    const problems = [
      rule('sum by (type) (increase(claimflow_operations_total[30m]) > 0', 'x'),
      rule('sum(rate(claimflow_operations_total)) > 0', 'x'),
      rule('histogram_quantil(0.99, claimflow_projection_lag_seconds_bucket) > 5', 'x'),
      rule('sum(claimflow_operations_total) > 0', 'x', '5 minutes'),
      rule('sum by (type) (increase(claimflow_operations_total[30m])) > 0', '{{ $labels.type }} on {{ $labels.pod }}'),
    ].map(alertRuleProblems);
    for (const [index, found] of problems.entries()) assert.ok(found.length > 0, `case ${index} was not caught`);
    assert.match(problems[1]!.join(), /expected type matrix in call to function "rate"/);
    assert.deepEqual(problems[4], ['its annotation "summary" reads $labels.pod, which the expression does not keep (it keeps: type)']);
  });
});

function alertRuleProblems(rule: { alert: string; expr: string; for?: string; annotations?: Record<string, string> }): string[] {
  const problems = promqlProblems(String(rule.expr));
  if (rule.for !== undefined && !isPrometheusDuration(rule.for)) problems.push(`for: ${rule.for} is not a Prometheus duration`);
  const kept = labelsKept(String(rule.expr));
  for (const [key, template] of Object.entries(rule.annotations ?? {})) {
    for (const label of templateLabels(template)) {
      if (kept !== 'any' && !kept.has(label)) problems.push(`its annotation "${key}" reads $labels.${label}, which the expression does not keep (it keeps: ${[...kept].join(', ') || 'none'})`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// (c) RBAC, for real
// ---------------------------------------------------------------------------------------------

type Check = [verb: string, resource: string, namespaced: boolean];
/** What src/activities/kubernetes does, and so what the worker's role must allow. */
const WORKER_NEEDS: Check[] = [
  ...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((v): Check => [v, 'postgresqlinstances.db.claimflow.io', true]),
  ...['get', 'list', 'watch', 'create'].map((v): Check => [v, 'sgdbops.stackgres.io', true]),
  // delete: the deleteBackup activity (backups past their retention)
  ...['get', 'list', 'watch', 'create', 'delete'].map((v): Check => [v, 'sgbackups.stackgres.io', true]),
  ...['get', 'list', 'watch'].map((v): Check => [v, 'sgclusters.stackgres.io', true]),
  ['get', 'secrets', true],
  ['create', 'namespaces', false],
  ['get', 'namespaces', false],
];
const WORKER_MUST_NOT: Check[] = [
  ['update', 'postgresqlinstances.db.claimflow.io', true],
  ['patch', 'postgresqlinstances.db.claimflow.io/status', true],
  ['delete', 'sgclusters.stackgres.io', true],
  ['create', 'sgclusters.stackgres.io', true],
  ['patch', 'sgclusters.stackgres.io', true],
  ['update', 'sgdbops.stackgres.io', true],
  ['patch', 'sgdbops.stackgres.io', true],
  ['delete', 'sgdbops.stackgres.io', true],
  ['patch', 'sgbackups.stackgres.io', true],
  ['get', 'sginstanceprofiles.stackgres.io', true],
  ['list', 'secrets', true],
  ['watch', 'secrets', true],
  ['list', 'secrets', false],
  ['create', 'secrets', true],
  ['update', 'secrets', true],
  ['delete', 'secrets', true],
  ['create', 'pods', true],
  ['get', 'pods', true],
  ['create', 'pods/exec', true],
  ['get', 'configmaps', true],
  ['create', 'serviceaccounts/token', true],
  ['list', 'namespaces', false],
  ['update', 'namespaces', false],
  ['patch', 'namespaces', false],
  ['delete', 'namespaces', false],
  ['create', 'clusterrolebindings.rbac.authorization.k8s.io', false],
  ['create', 'rolebindings.rbac.authorization.k8s.io', true],
  ['impersonate', 'serviceaccounts', true],
  ['*', '*', false],
];

describe('RBAC (applied for real, checked with kubectl auth can-i)', () => {
  const ns = uniqueName('claimflow-rbac');
  const roleName = `${ns}-worker`;
  const cleanup: string[][] = [];
  after(async () => {
    for (const args of cleanup) await kubectl(args);
  });

  const canI = async (sa: string, [verb, resource, namespaced]: Check): Promise<string> => {
    // `resource/x` would ask about the object named x: a subresource is a flag of its own
    const [plural, subresource] = resource.split('/');
    const args = [
      'auth', 'can-i', verb, plural!, ...(subresource ? [`--subresource=${subresource}`] : []),
      `--as=system:serviceaccount:${ns}:${sa}`, ...(namespaced ? ['-n', 'tenant-acme'] : []),
    ];
    const r = await kubectl(args);
    const answer = r.stdout.trim();
    assert.ok(answer === 'yes' || answer === 'no', `kubectl ${args.join(' ')}: ${r.stderr || r.stdout}`);
    return answer;
  };

  test('the ServiceAccounts and the worker ClusterRole(Binding) apply to a fresh namespace', async () => {
    const objects = await render('dev');
    const role = structuredClone(named(objects, 'ClusterRole', 'claimflow-worker'));
    const binding = structuredClone(named(objects, 'ClusterRoleBinding', 'claimflow-worker'));
    const accounts = ofKind(objects, 'ServiceAccount').map((sa) => ({ ...sa, metadata: { ...sa.metadata, namespace: ns } }));
    assert.deepEqual(accounts.map((a) => a.metadata.name).sort(), ['claimflow-api', 'claimflow-worker']);
    // no other RBAC object: the API's account has no binding at all
    assert.deepEqual(objects.filter((o) => /Role/.test(o.kind)).map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding']);
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'claimflow-worker', namespace: 'claimflow-system' }]);
    role.metadata.name = roleName;
    binding.metadata.name = roleName;
    binding.roleRef.name = roleName;
    binding.subjects[0].namespace = ns;
    cleanup.push(['delete', 'clusterrolebinding', roleName, '--ignore-not-found'], ['delete', 'clusterrole', roleName, '--ignore-not-found']);
    await kubectlOk(['create', 'namespace', ns]);
    await kubectlOk(['apply', '--server-side', '--field-manager=claimflow-packaging-test', '-f', '-'], toYaml([...accounts, role, binding]));
  });

  test('the worker may do everything it does', async () => {
    const denied: string[] = [];
    for (const check of WORKER_NEEDS) if ((await canI('claimflow-worker', check)) !== 'yes') denied.push(check.join(' '));
    assert.deepEqual(denied, [], 'the worker is denied what it needs');
  });

  test('the worker may do nothing more', async () => {
    const allowed: string[] = [];
    for (const check of WORKER_MUST_NOT) if ((await canI('claimflow-worker', check)) !== 'no') allowed.push(check.join(' '));
    assert.deepEqual(allowed, [], 'the worker is allowed more than it needs');
  });

  test("the worker's effective rules are exactly its own (kubectl auth can-i --list)", async () => {
    const out = await kubectlOk(['auth', 'can-i', '--list', `--as=system:serviceaccount:${ns}:claimflow-worker`, '-n', 'tenant-acme']);
    // What every authenticated user may do (self reviews, discovery) is not the worker's.
    const everyone = new Set(['selfsubjectaccessreviews.authorization.k8s.io', 'selfsubjectrulesreviews.authorization.k8s.io', 'selfsubjectreviews.authentication.k8s.io']);
    const rules = new Map<string, string>();
    for (const line of out.split('\n').slice(1)) {
      const m = /^(\S+)\s+\[[^\]]*\]\s+\[[^\]]*\]\s+\[([^\]]*)\]/.exec(line);
      if (m && !everyone.has(m[1]!)) rules.set(m[1]!, m[2]!.split(' ').sort().join(' '));
    }
    const expected = new Map<string, string>();
    for (const [verb, resource] of WORKER_NEEDS) expected.set(resource, [...(expected.get(resource)?.split(' ') ?? []), verb].sort().join(' '));
    assert.deepEqual(Object.fromEntries([...rules].sort()), Object.fromEntries([...expected].sort()), out);
  });

  test("the API's service account may do nothing in Kubernetes", async () => {
    const checks: Check[] = [
      ...WORKER_NEEDS,
      ['get', 'pods', true],
      ['list', 'configmaps', true],
      ['create', 'events', true],
    ];
    const allowed: string[] = [];
    for (const check of checks) if ((await canI('claimflow-api', check)) !== 'no') allowed.push(check.join(' '));
    assert.deepEqual(allowed, []);
  });
});

// ---------------------------------------------------------------------------------------------
// (d) Crossplane
// ---------------------------------------------------------------------------------------------

/** The schema node at a dotted path (array indices and map keys in brackets are skipped). */
function schemaAt(schema: any, path: string): any {
  let node = schema;
  for (const segment of path.replace(/\[[^\]]*\]/g, '').split('.')) {
    if (node?.type === 'array') node = node.items;
    if (node?.['x-kubernetes-preserve-unknown-fields'] && !node.properties) return node;
    node = node?.properties?.[segment];
    if (!node) return undefined;
  }
  return node?.type === 'array' ? node : node;
}

/** `a.b[0].c[key.with/dots]` -> ['a', 'b', '0', 'c', 'key.with/dots'] (Crossplane's field path syntax). */
const segmentsOf = (path: string): string[] => [...path.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)].map((m) => m[1] ?? m[2]!);

function getPath(object: any, path: string): unknown {
  let node = object;
  for (const segment of segmentsOf(path)) {
    if (node === undefined || node === null) return undefined;
    node = node[segment];
  }
  return node;
}

function setPath(object: any, path: string, value: unknown): void {
  const segments = segmentsOf(path);
  let node = object;
  segments.forEach((segment, i) => {
    if (i === segments.length - 1) {
      node[segment] = value;
      return;
    }
    node[segment] ??= /^\d+$/.test(segments[i + 1]!) ? [] : {};
    node = node[segment];
  });
}

function transform(value: unknown, transforms: any[] = []): unknown {
  return transforms.reduce((input, t) => {
    switch (t.type) {
      case 'string':
        assert.equal(t.string.type ?? 'Format', 'Format', 'only Format string transforms are evaluated here');
        return t.string.fmt.replace('%s', String(input));
      case 'map':
        assert.ok(Object.hasOwn(t.map, String(input)), `map transform has no entry for ${String(input)}`);
        return t.map[String(input)];
      case 'convert':
        assert.equal(t.convert.toType, 'string');
        return String(input);
      case 'match': {
        const hit = t.match.patterns.find((p: any) => (p.type === 'regexp' ? new RegExp(p.regexp).test(String(input)) : p.literal === input));
        return hit ? hit.result : t.match.fallbackValue;
      }
      default:
        throw new Error(`transform ${t.type} is not evaluated by this test`);
    }
  }, value);
}

/**
 * A small evaluator of the patch-and-transform subset the Composition uses (FromCompositeFieldPath,
 * CombineFromComposite, PatchSet; an absent source field skips its patch, as the function does).
 */
function composeResources(input: any, xr: any): Record<string, any> {
  const patchSets = new Map<string, any[]>(input.patchSets.map((s: any) => [s.name, s.patches]));
  const out: Record<string, any> = {};
  for (const resource of input.resources) {
    const composed = structuredClone(resource.base);
    const patches = resource.patches.flatMap((p: any) => (p.type === 'PatchSet' ? patchSets.get(p.patchSetName)! : [p]));
    for (const patch of patches) {
      if (patch.type === 'FromCompositeFieldPath') {
        const value = getPath(xr, patch.fromFieldPath);
        if (value !== undefined) setPath(composed, patch.toFieldPath, transform(value, patch.transforms));
      } else if (patch.type === 'CombineFromComposite') {
        const values = patch.combine.variables.map((v: any) => getPath(xr, v.fromFieldPath));
        if (values.every((v: unknown) => v !== undefined)) {
          let i = 0;
          setPath(composed, patch.toFieldPath, patch.combine.string.fmt.replace(/%s/g, () => String(values[i++])));
        }
      } else {
        assert.equal(patch.type, 'ToCompositeFieldPath', `patch type ${patch.type} is not evaluated by this test`);
      }
    }
    out[resource.name] = composed;
  }
  return out;
}

describe('deploy/crossplane', () => {
  const xrd = () => yamlDocs(readFileSync(XRD_PATH, 'utf8'))[0];
  const composition = () => yamlDocs(read('deploy', 'crossplane', 'composition.yaml'))[0];
  const input = () => composition().spec.pipeline[0].input;
  const dependencies = () => yamlDocs(read('deploy', 'crossplane', 'dependencies.yaml'));
  const referenceable = (x: any) => x.spec.versions.find((v: any) => v.referenceable);

  test('the XRD, the Composition and their dependencies parse as the Crossplane kinds they claim to be', () => {
    const x = xrd();
    assert.equal(x.apiVersion, 'apiextensions.crossplane.io/v1');
    assert.equal(x.kind, 'CompositeResourceDefinition');
    assert.equal(x.metadata.name, 'xpostgresqlinstances.db.claimflow.io');
    assert.deepEqual(x.spec.names, { kind: 'XPostgreSQLInstance', plural: 'xpostgresqlinstances', categories: ['claimflow', 'composite'] });
    assert.equal(x.spec.claimNames.kind, 'PostgreSQLInstance');
    assert.equal(x.spec.claimNames.plural, 'postgresqlinstances');
    assert.equal(referenceable(x).name, 'v1alpha1');
    assert.deepEqual(x.spec.connectionSecretKeys, ['host', 'port', 'database', 'username', 'password']);

    const c = composition();
    assert.equal(c.apiVersion, 'apiextensions.crossplane.io/v1');
    assert.equal(c.kind, 'Composition');
    assert.equal(x.spec.defaultCompositionRef.name, c.metadata.name);
    assert.deepEqual(c.spec.compositeTypeRef, { apiVersion: `${x.spec.group}/${referenceable(x).name}`, kind: x.spec.names.kind });
    assert.equal(c.spec.mode, 'Pipeline');
    assert.equal(c.spec.pipeline.length, 1);
    const fn = dependencies().find((d) => d.kind === 'Function');
    assert.equal(c.spec.pipeline[0].functionRef.name, fn.metadata.name);
    assert.match(fn.spec.package, /function-patch-and-transform:v\d+\.\d+\.\d+$/);
    assert.deepEqual([input().apiVersion, input().kind], ['pt.fn.crossplane.io/v1beta1', 'Resources']);
    const providerConfig = yamlDocs(read('deploy', 'crossplane', 'provider-config.yaml'))[0];
    for (const resource of input().resources) {
      assert.equal(resource.base.apiVersion, 'kubernetes.crossplane.io/v1alpha2', resource.name);
      assert.equal(resource.base.kind, 'Object', resource.name);
      assert.equal(resource.base.spec.providerConfigRef.name, providerConfig.metadata.name, resource.name);
    }
  });

  test("the XRD's parameters schema is the claim CRD's (which is generated from it)", () => {
    const crd = parse(readFileSync(CLAIM_CRD_PATH, 'utf8'));
    const crdSpec = crd.spec.versions.find((v: any) => v.name === 'v1alpha1').schema.openAPIV3Schema.properties.spec;
    assert.deepEqual(crdSpec.properties.parameters, referenceable(xrd()).schema.openAPIV3Schema.properties.spec.properties.parameters);
    assert.equal(renderClaimCrd(readFileSync(XRD_PATH, 'utf8')), readFileSync(CLAIM_CRD_PATH, 'utf8'), `${relative(ROOT, CLAIM_CRD_PATH)} is stale: npm run crd:generate`);
  });

  test('every patch reads a field the XRD defines and writes a field the StackGres CRDs define', () => {
    const xrSchema = referenceable(xrd()).schema.openAPIV3Schema;
    const sgcluster = parse(read('deploy', 'crds', 'sgclusters.stackgres.io.yaml')).spec.versions[0].schema.openAPIV3Schema;
    const { patchSets, resources } = input();
    const all = [...patchSets.flatMap((s: any) => s.patches), ...resources.flatMap((r: any) => r.patches)];
    const sources = all.flatMap((p: any) => (p.type === 'CombineFromComposite' ? p.combine.variables.map((v: any) => v.fromFieldPath) : p.type === 'FromCompositeFieldPath' ? [p.fromFieldPath] : []));
    for (const source of sources.filter((s: string) => s.startsWith('spec.parameters.'))) {
      assert.ok(schemaAt(xrSchema, source), `the Composition reads ${source}, which the XRD does not define`);
    }
    const cluster = resources.find((r: any) => r.name === 'sgcluster');
    for (const patch of cluster.patches.filter((p: any) => p.toFieldPath?.startsWith('spec.forProvider.manifest.spec.'))) {
      const target = patch.toFieldPath.slice('spec.forProvider.manifest.'.length);
      assert.ok(schemaAt(sgcluster, target), `the Composition writes SGCluster ${target}, which the SGCluster CRD does not define`);
    }
    for (const patch of cluster.patches.filter((p: any) => p.type === 'ToCompositeFieldPath')) {
      assert.ok(schemaAt(xrSchema, patch.toFieldPath), `the Composition writes ${patch.toFieldPath}, which the XRD does not define`);
    }
    assert.deepEqual(cluster.connectionDetails.map((d: any) => d.name).sort(), [...xrd().spec.connectionSecretKeys].sort());
  });

  test('the profiles and volumes per size are the size table, the simulator and the domain agree', () => {
    const { resources } = input();
    for (const [size, spec] of Object.entries(SIZES)) {
      const profile = resources.find((r: any) => r.name === `profile-${size}`)?.base.spec;
      assert.ok(profile, `no SGInstanceProfile for ${size}`);
      assert.equal(profile.forProvider.manifest.kind, 'SGInstanceProfile');
      assert.equal(profile.forProvider.manifest.metadata.name, COMPOSITION[size as keyof typeof COMPOSITION].sgInstanceProfile);
      assert.deepEqual(profile.forProvider.manifest.spec, { cpu: spec.cpu, memory: spec.memory });
      assert.ok(!profile.managementPolicies.includes('Delete') && !profile.managementPolicies.includes('*'), 'shared profiles must never be deleted with one instance');
    }
    assert.deepEqual(
      Object.fromEntries(Object.entries(SIZES).map(([size, s]) => [size, s.storage])),
      Object.fromEntries(Object.entries(COMPOSITION).map(([size, c]) => [size, c.volumeSize])),
    );
  });

  test('for the same claims, the Composition renders the SGCluster the simulator renders', () => {
    const claims: Claim['spec'][] = [
      { parameters: { size: 'small', postgres: { version: '16.9' } }, writeConnectionSecretToRef: { name: 'c' } },
      { parameters: { size: 'medium', instances: 3, postgres: { version: '15.13' }, backup: { schedule: '0 3 * * *', retention: 7 } }, writeConnectionSecretToRef: { name: 'c' } },
      { parameters: { size: 'large', instances: 2, postgres: { version: '17.5' }, restore: { fromBackup: 'orders-backup-3', pointInTime: '2026-01-02T03:04:05Z' } }, writeConnectionSecretToRef: { name: 'c' } },
      { parameters: { size: 'small', postgres: { version: '16.9' }, restore: { fromBackup: 'b1' }, backup: { schedule: '15 1 * * 0', retention: 3 } }, writeConnectionSecretToRef: { name: 'c' } },
    ];
    for (const spec of claims) {
      const claim = { apiVersion: 'db.claimflow.io/v1alpha1', kind: 'PostgreSQLInstance', metadata: { name: 'orders', namespace: 'tenant-acme' }, spec } as Claim;
      // Crossplane's composite for that claim: the claim's spec plus the reference back to it
      const xr = { metadata: { name: 'orders-x7k2p', uid: '0b0c' }, spec: { ...structuredClone(spec), parameters: { instances: 1, ...structuredClone(spec.parameters) }, claimRef: { name: 'orders', namespace: 'tenant-acme' } } };
      const composed = composeResources(input(), xr).sgcluster;
      const simulated = renderCluster(claim);
      const manifest = composed.spec.forProvider.manifest;
      assert.deepEqual(
        { metadata: manifest.metadata, spec: manifest.spec },
        { metadata: simulated.metadata, spec: simulated.spec },
        JSON.stringify(spec.parameters),
      );
      assert.equal(composed.metadata.annotations['claimflow.io/host'], 'orders.tenant-acme.svc');
      assert.deepEqual(composed.spec.connectionDetails.map((d: any) => [d.name, d.namespace]), [['orders', 'tenant-acme'], ['orders', 'tenant-acme']]);
      assert.equal(composed.spec.writeConnectionSecretToRef.name, '0b0c-sgcluster');
      if (spec.parameters.backup) assert.equal(manifest.spec.configurations.backups[0].sgObjectStorage, OBJECT_STORAGE);
    }
  });
});
