import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { KubeClients } from './kubernetes/client.js';
import { createKubernetesActivities } from './kubernetes/activities.js';
import { createNotificationActivities } from './notifications/activities.js';
import { createReadModelActivities } from './readmodel/activities.js';
import { instancesWithBackupPolicy, liveInstances } from './readmodel/keeper-queries.js';
import type { ProjectionObserver } from './readmodel/projection.js';
import { createTemporalActivities, type TemporalPortOptions } from './temporal/activities.js';

/** Every activity the worker registers, wired to the clients of their ports. */
export function createActivities(clients: { kube: KubeClients; pool: Pool; temporal: Client }, options: TemporalPortOptions & { observeProjection?: ProjectionObserver }) {
  return {
    ...createKubernetesActivities(clients.kube),
    ...createReadModelActivities(clients.pool, options.observeProjection),
    ...createNotificationActivities(clients.pool),
    // The Schedule keeper learns from the read model which instances have a backup policy, and which should be running.
    ...createTemporalActivities(clients.temporal, options, {
      instancesWithBackupPolicy: () => instancesWithBackupPolicy(clients.pool),
      liveInstances: () => liveInstances(clients.pool),
    }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
