import type { Pool } from 'pg';
import type { KubeClients } from './kubernetes/client.js';
import { createKubernetesActivities } from './kubernetes/activities.js';
import { createReadModelActivities } from './readmodel/activities.js';

/** Every activity the worker registers, wired to the clients of their ports. */
export function createActivities(clients: { kube: KubeClients; pool: Pool }) {
  return { ...createKubernetesActivities(clients.kube), ...createReadModelActivities(clients.pool) };
}

export type Activities = ReturnType<typeof createActivities>;
