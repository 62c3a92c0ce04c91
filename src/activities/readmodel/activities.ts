import type { Pool } from 'pg';
import { projectEvents, type ProjectionBatch, type ProjectionObserver } from './projection.js';

/** Activities of the read-model port, built on the worker's connection pool. */
export function createReadModelActivities(pool: Pool, observe?: ProjectionObserver) {
  return {
    projectEvents: (batch: ProjectionBatch) => projectEvents(pool, batch, observe),
    /**
     * The same, run as a local activity. A local activity's input stays out of the history and its
     * result goes in, so it answers with the events: the history stays the instance's event log.
     */
    projectEventsLocally: async (batch: ProjectionBatch) => ({ ...(await projectEvents(pool, batch, observe)), events: batch.events }),
  };
}

export type ReadModelActivities = ReturnType<typeof createReadModelActivities>;
