import type { Pool } from 'pg';
import { projectEvents, type ProjectionBatch } from './projection.js';

/** Activities of the read-model port, built on the worker's connection pool. */
export function createReadModelActivities(pool: Pool) {
  return {
    projectEvents: (batch: ProjectionBatch) => projectEvents(pool, batch),
  };
}

export type ReadModelActivities = ReturnType<typeof createReadModelActivities>;
