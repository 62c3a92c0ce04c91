// Installs the project's CRDs (deploy/crds/*.yaml) into the local cluster with server-side apply,
// so re-running `up` after a YAML change updates them in place, and waits until each CRD is
// Established (its REST endpoint serves): the simulator and the worker watch them right after.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, KubernetesObjectApi, PatchStrategy, loadYaml, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { StackError, waitFor } from './util.js';

export const FIELD_MANAGER = 'claimflow-stack';

/** Every object in every *.yaml / *.yml file of `dir`, in file-name order. */
export function readManifests(dir: string): { file: string; object: KubernetesObject }[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const out: { file: string; object: KubernetesObject }[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(join(dir, file), 'utf8'));
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new StackError(`${join(dir, file)}: invalid YAML: ${doc.errors[0]!.message}`);
      const object = doc.toJS() as KubernetesObject | null;
      if (object === null || object === undefined) continue; // empty document (e.g. trailing ---)
      if (!object.apiVersion || !object.kind || !object.metadata?.name) {
        throw new StackError(`${join(dir, file)}: every document needs apiVersion, kind and metadata.name`);
      }
      out.push({ file, object });
    }
  }
  return out;
}

/** Server-side applies every manifest in `dir`; returns the names of the CRDs, once Established. */
export async function applyCrds(kc: KubeConfig, dir: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string[]> {
  const manifests = readManifests(dir);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  for (const { file, object } of manifests) {
    try {
      // client-node serialises a known kind through its model, which knows only its own property
      // names: raw keys such as x-kubernetes-validations would be dropped. Its loadYaml maps them
      // onto the model (JSON is YAML).
      const typed = loadYaml<KubernetesObject>(JSON.stringify(object));
      // force: this tool owns these objects; a field changed by hand is taken back
      await objects.patch(typed, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (e) {
      throw new StackError(`applying ${object.kind} ${object.metadata!.name} from ${file} failed: ${(e as Error).message}`);
    }
  }
  const crdNames = manifests.filter((m) => m.object.kind === 'CustomResourceDefinition').map((m) => m.object.metadata!.name!);
  await waitForCrdsEstablished(kc, crdNames, opts);
  return crdNames;
}

export async function waitForCrdsEstablished(kc: KubeConfig, names: string[], opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  await Promise.all(
    names.map((name) =>
      waitFor(
        async () => {
          const crd = await api.readCustomResourceDefinition({ name });
          return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
        },
        { what: `CRD ${name}`, timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100, hint: 'not Established', signal: opts.signal },
      ),
    ),
  );
}
