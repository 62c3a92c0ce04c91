// What the API tests share: a worker on a fresh task queue, a Temporal client, the read model's
// pool, the app under test, tokens for tenants, and a small HTTP client over app.inject.
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import type { InjectOptions } from 'fastify';
import pg from 'pg';
import { buildApp, type App, type AppDeps } from '../../src/api/app.js';
import { PLATFORM_TENANT } from '../../src/api/auth/authenticate.js';
import { createToken } from '../../src/api/auth/tokens.js';
import type { ErrorBody } from '../../src/api/errors.js';
import type { Operation } from '../../src/api/schemas.js';
import { buildClaim } from '../../src/activities/kubernetes/resources.js';
import { connectionSecretName, tenantNamespace, type InstanceSpecInput } from '../../src/domain/index.js';
import type { Tracing } from '../../src/observability/tracing.js';
import { loadKubeConfig, testEnv, uniqueName } from './env.js';
import { FAST_SETTINGS, eventually, runInProcessWorker, workerEnv } from './lifecycle.js';

export { FAST_SETTINGS };

export interface ApiHarness {
  app: App;
  client: Client;
  pool: pg.Pool;
  taskQueue: string;
  /** A token for a fresh tenant. */
  tenant: (prefix?: string) => Promise<{ tenant: string; token: string }>;
  /** A token of the reserved tenant of platform operators. */
  platformToken: () => Promise<string>;
  /** The id of this harness's own fleet maintenance coordinator (the worker's and the app's). */
  fleetWorkflowId: string;
  stop: () => Promise<void>;
}

export interface HarnessOptions {
  /** Tracing for the Temporal client the app uses (its plugin). The worker is not traced: its bundle is prebuilt without the interceptors. */
  tracing?: Tracing;
}

/** Worker, client, pool and the app (listening on an ephemeral port too, for streams). */
export async function startApiHarness(deps: Partial<AppDeps> = {}, options: HarnessOptions = {}): Promise<ApiHarness> {
  const taskQueue = uniqueName('api-tq');
  // Each harness has its own coordinator: one left by another test file would be on a task queue no worker polls.
  const env = workerEnv(taskQueue);
  const fleetWorkflowId = env.MAINTENANCE_FLEET_ID;
  const { tracing } = options;
  const stopWorker = await runInProcessWorker(env);
  const connection = await Connection.connect({ address: testEnv.temporalAddress });
  const client = new Client({ connection, namespace: testEnv.temporalNamespace, ...(tracing ? { plugins: [tracing.plugin] } : {}) });
  const pool = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 10 });
  const app = buildApp({ client, pool, taskQueue, lifecycleSettings: FAST_SETTINGS, eventPollIntervalMs: 100, fleetWorkflowId, ...deps });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    client,
    pool,
    taskQueue,
    tenant: async (prefix = 't') => {
      const tenant = uniqueName(prefix).slice(0, 20).replace(/-+$/, '');
      return { tenant, token: await createToken(pool, tenant, 'tests') };
    },
    platformToken: () => createToken(pool, PLATFORM_TENANT, 'tests'),
    fleetWorkflowId,
    stop: async () => {
      await app.close();
      await stopWorker();
      await pool.end();
      await connection.close();
    },
  };
}

export interface Reply<T> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | number | undefined>;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface CallOptions {
  token?: string | undefined;
  body?: unknown;
  /** Sent as is (with Content-Type application/json unless headers say otherwise). */
  rawBody?: string;
  headers?: Record<string, string>;
}

/** An HTTP client for one token over app.inject. */
export function apiClient(app: App, token?: string) {
  return async function call<T = unknown>(method: Method, url: string, options: CallOptions = {}): Promise<Reply<T>> {
    const bearer = options.token ?? token;
    const headers: Record<string, string> = { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...options.headers };
    const request: InjectOptions = { method, url, headers };
    if (options.rawBody !== undefined) {
      request.payload = options.rawBody;
      headers['content-type'] ??= 'application/json';
    } else if (options.body !== undefined) {
      request.payload = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await app.inject(request);
    const text = response.body;
    let body: unknown = text;
    if (String(response.headers['content-type'] ?? '').includes('json') && text !== '') body = JSON.parse(text);
    return { status: response.statusCode, body: body as T, headers: response.headers };
  };
}
export type Call = ReturnType<typeof apiClient>;

export const errorOf = (reply: Reply<unknown>): ErrorBody['error'] => (reply.body as ErrorBody).error;

export { eventually };

/** Waits for an operation to finish (succeeded or failed) and returns it. */
export async function settled(call: Call, name: string, operationId: string): Promise<Operation> {
  return eventually(`operation ${operationId} on ${name} to finish`, async () => {
    const reply = await call<Operation>('GET', `/v1/instances/${name}/operations/${encodeURIComponent(operationId)}`);
    return reply.status === 200 && (reply.body.status === 'succeeded' || reply.body.status === 'failed') ? reply.body : undefined;
  });
}

// ---- the simulator's failure injection (annotations on the Kubernetes objects, see docs/simulator.md)

const CLAIMS = { group: 'db.claimflow.io', version: 'v1alpha1', plural: 'postgresqlinstances' };
const BACKUPS = { group: 'stackgres.io', version: 'v1', plural: 'sgbackups' };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function kube() {
  const kc = loadKubeConfig();
  return { custom: kc.makeApiClient(CustomObjectsApi), core: kc.makeApiClient(CoreV1Api) };
}

/** Adds (a string) or removes (null) annotations on an instance's claim. */
export async function annotateClaim(tenant: string, name: string, annotations: Record<string, string | null>): Promise<void> {
  await kube().custom.patchNamespacedCustomObject(
    { ...CLAIMS, namespace: tenantNamespace(tenant), name, body: { metadata: { annotations } } },
    mergePatch,
  );
}

/**
 * Annotates an SGBackup, waiting for it to exist first: the read model shows a backup as soon as
 * it is requested, a moment before the workflow creates the object.
 */
export async function annotateBackup(tenant: string, name: string, annotations: Record<string, string | null>): Promise<void> {
  const { custom } = kube();
  await eventually(`SGBackup ${name} to exist`, async () => {
    try {
      await custom.patchNamespacedCustomObject(
        { ...BACKUPS, namespace: tenantNamespace(tenant), name, body: { metadata: { annotations } } },
        mergePatch,
      );
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) return undefined;
      throw error;
    }
  });
}

/**
 * Creates an instance's claim before the workflow applies it, with annotations already on it, so
 * the simulator sees them the first time it acts (the workflow's server-side apply keeps them).
 */
export async function precreateClaim(
  tenant: string,
  spec: Required<Pick<InstanceSpecInput, 'name' | 'version' | 'size'>>,
  annotations: Record<string, string>,
): Promise<void> {
  const { core, custom } = kube();
  const namespace = tenantNamespace(tenant);
  try {
    await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'claimflow.io/managed': 'true' } } } });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 409) throw error;
  }
  const claim = buildClaim(
    { tenant, namespace, instanceName: spec.name, instanceId: 'precreated' },
    {
      size: spec.size,
      instances: 1,
      version: spec.version,
      maintenance: { dayOfWeek: 'sunday', timeOfDay: '03:00' },
      deletionProtection: false,
      connectionSecretName: connectionSecretName(spec.name),
    },
  );
  await custom.createNamespacedCustomObject({
    ...CLAIMS,
    namespace,
    body: { ...claim, metadata: { ...claim.metadata, annotations } },
  });
}
