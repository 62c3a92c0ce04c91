import { ApiException, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { CustomObject } from './resources.js';
import { FIELD_MANAGER } from './resources.js';

// The Kubernetes clients the activities need, built once per worker from a kubeconfig: the local
// stack's file in development, a mounted service account in production.

export interface KubeClients {
  kubeConfig: KubeConfig;
  objects: KubernetesObjectApi;
  core: CoreV1Api;
}

export function createKubeClients(kubeConfig: KubeConfig): KubeClients {
  return { kubeConfig, objects: KubernetesObjectApi.makeApiClient(kubeConfig), core: kubeConfig.makeApiClient(CoreV1Api) };
}

export function loadKubeConfig(path?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

export const isStatus = (error: unknown, code: number): boolean => error instanceof ApiException && error.code === code;

/** Reads an object, or undefined when it does not exist. */
export async function readOrUndefined(clients: KubeClients, header: CustomObject): Promise<CustomObject | undefined> {
  try {
    return await clients.objects.read(header as Parameters<KubernetesObjectApi['read']>[0]);
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

/** Server-side apply as claimflow: the fields we own are ours; other managers keep theirs. */
export const serverSideApply = (clients: KubeClients, object: CustomObject): Promise<CustomObject> =>
  clients.objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
