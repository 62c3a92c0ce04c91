import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { LifecycleSettings } from '../messages.js';

// Two kinds of activity: quick API calls, retried with backoff, and waits on the cluster, which
// heartbeat so a dead worker's wait is handed to another worker within the heartbeat timeout.

const retry = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' };

export function proxies(settings: LifecycleSettings) {
  const quick = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry });
  const longest = Math.max(settings.provisionTimeoutMs, settings.operationTimeoutMs, settings.backupTimeoutMs, settings.deleteTimeoutMs);
  const waits = proxyActivities<Activities>({
    startToCloseTimeout: longest + 60_000,
    heartbeatTimeout: settings.heartbeatTimeoutMs,
    retry,
  });
  return { quick, waits };
}

export type Proxies = ReturnType<typeof proxies>;
