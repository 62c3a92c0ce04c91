import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import pLimit from 'p-limit';
import { describeIfKept } from '../../clients/workflow-runs.js';
import type { UnmanagedInstance } from '../../workflows/messages.js';
import type { InstanceKey } from '../readmodel/keeper-queries.js';
import { runningInstancesAnywhereQuery } from './visibility.js';

// An instance's workflow ends by itself only after the instance is deleted. One ended any other
// way (terminated or cancelled by hand) leaves a claim that nothing maintains behind a read model
// that still says it is ready: the keeper's run finds such instances, so that the platform team
// hears of them before a tenant's command is refused.

const DESCRIBING_AT_ONCE = 10;
const LISTED = 20;

/**
 * Every deployment's: a read model shared by two lists both's instances, and those running on
 * the other's task queue need no further question.
 */
async function runningWorkflowIds(client: Client): Promise<Set<string>> {
  const running = new Set<string>();
  for await (const execution of client.workflow.list({ query: runningInstancesAnywhereQuery(), pageSize: 1000 })) {
    running.add(execution.workflowId);
  }
  return running;
}

/**
 * Visibility lags a start or a continue-as-new by a moment: the workflow itself says whether it
 * ended, and on whose task queue (an ended run of another deployment is that one's to report).
 */
async function endedHere(client: Client, instance: InstanceKey, instanceTaskQueue: string): Promise<UnmanagedInstance | null> {
  const name = `${instance.tenant}/${instance.name}`;
  const run = await describeIfKept(client.workflow.getHandle(instance.workflowId));
  // Past the namespace's retention no deployment can tell whose it was: each keeper reports it.
  if (!run) return { instance: name, status: 'GONE' };
  if (run.status.name === 'RUNNING' || run.taskQueue !== instanceTaskQueue) return null;
  return { instance: name, status: run.status.name, ...(run.closeTime ? { closedAt: run.closeTime.toISOString() } : {}) };
}

/** The live instances (read model) of this deployment whose workflow ended outside claimflow: how many, and the first 20. */
export async function findUnmanagedInstances(client: Client, live: InstanceKey[], instanceTaskQueue: string) {
  const running = await runningWorkflowIds(client);
  const limit = pLimit(DESCRIBING_AT_ONCE);
  const found = await Promise.all(
    live
      .filter(({ workflowId }) => !running.has(workflowId))
      .map((instance) =>
        limit(async () => {
          const ended = await endedHere(client, instance, instanceTaskQueue);
          Context.current().heartbeat();
          return ended;
        }),
      ),
  );
  const unmanaged = found.filter((instance): instance is UnmanagedInstance => instance !== null);
  return { unmanagedCount: unmanaged.length, unmanaged: unmanaged.slice(0, LISTED) };
}
