import type { Pool } from 'pg';
import { projectEvents, type ProjectionBatch, type ProjectionObserver } from './projection.js';

/** Activities of the read-model port, built on the worker's connection pool. */
export function createReadModelActivities(pool: Pool, observe?: ProjectionObserver) {
  return {
    projectEvents: (batch: ProjectionBatch) => projectEvents(pool, batch, observe),
  };
}

export type ReadModelActivities = ReturnType<typeof createReadModelActivities>;
