import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { LifecycleSettings } from '../messages.js';
import { instancePatched } from './patches.js';

// Three kinds of activity: quick API calls, retried with backoff; waits on the cluster, which
// heartbeat so a dead worker's wait is handed to another worker within the heartbeat timeout; and
// local steps (a projection, a slot request, the Schedules' upsert, the claim's apply) that take
// milliseconds: run inside the workflow task, they cost the server no task of their own
// (BENCHMARKS.md).

const retry = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' };

export function proxies(settings: LifecycleSettings) {
  const quick = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry });
  const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '30s', retry });
  const longest = Math.max(settings.provisionTimeoutMs, settings.operationTimeoutMs, settings.backupTimeoutMs, settings.deleteTimeoutMs);
  const waits = proxyActivities<Activities>({
    startToCloseTimeout: longest + 60_000,
    heartbeatTimeout: settings.heartbeatTimeoutMs,
    retry,
  });
  return { quick, local, waits };
}

export type Proxies = ReturnType<typeof proxies>;

// Runs recorded before the local steps ran as local activities replay them as activities.
const LOCAL_STEPS_PATCH = 'local-steps';

export function runsLocalSteps(): boolean {
  return instancePatched(LOCAL_STEPS_PATCH);
}

/** The proxy this run's local steps go through. */
export function localSteps(activities: Proxies): Proxies['local'] | Proxies['quick'] {
  return runsLocalSteps() ? activities.local : activities.quick;
}
