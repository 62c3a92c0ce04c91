import { Context } from '@temporalio/activity';
import { WorkflowUpdateStage, type Client } from '@temporalio/client';
import pLimit from 'p-limit';
import type { MaintenanceRequest } from '../../domain/index.js';
import { MAINTENANCE_WINDOW_ATTRIBUTE, maintenanceUpdate, type MaintenanceWindowRunResult } from '../../workflows/messages.js';
import { refusalOf } from './refusals.js';
import { quoted, runningInstancesQuery } from './visibility.js';

// A maintenance window opens: its run finds the window's instances in Temporal's visibility store
// (the instances' own search attribute, on this deployment's task queue) and sends each its
// maintenance Update. The instance decides from there: it waits for a running operation and for a
// fleet slot, and refuses what is not its to do (not ready, moved to another window, this window
// already had its run). Temporal's index, not the read model (see visibility.ts).

export interface WindowOpening {
  window: string;
  instanceTaskQueue: string;
  /** The window's run: each instance's run id is this plus the instance's workflow id. */
  runId: string;
  actor: string;
  windowOpensAt: string;
  windowEndsAt: string;
}

/** Updates in flight at once: each waits for its instance's validator, a workflow task away. */
const SENDING_AT_ONCE = 50;
const ATTEMPTS = 3;
const REFUSALS_LISTED = 20;

async function instancesInWindow(client: Client, opening: WindowOpening): Promise<string[]> {
  const query = runningInstancesQuery(opening.instanceTaskQueue, `${MAINTENANCE_WINDOW_ATTRIBUTE.name} = ${quoted(opening.window)}`);
  const ids: string[] = [];
  for await (const execution of client.workflow.list({ query, pageSize: 1000 })) ids.push(execution.workflowId);
  return ids;
}

type Answer = { handedOver: true } | { handedOver: false; reason: string };

async function sendOne(client: Client, workflowId: string, request: MaintenanceRequest): Promise<Answer> {
  const signal = Context.current().cancellationSignal;
  for (let attempt = 1; ; attempt++) {
    try {
      await client.withAbortSignal(signal, () =>
        client.workflow.getHandle(workflowId).startUpdate(maintenanceUpdate, { args: [request], updateId: request.runId, waitForStage: WorkflowUpdateStage.ACCEPTED }),
      );
      return { handedOver: true };
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal !== null) return { handedOver: false, reason: refusal };
      // Anything else (the server busy, a deadline) is tried again here, then fails the activity,
      // whose retry sends the same run ids: an instance that accepted before answers "duplicate".
      if (attempt >= ATTEMPTS || signal.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

export async function openMaintenanceWindow(client: Client, opening: WindowOpening): Promise<MaintenanceWindowRunResult> {
  const context = Context.current();
  const workflowIds = await instancesInWindow(client, opening);
  const limit = pLimit(SENDING_AT_ONCE);
  const refused: MaintenanceWindowRunResult['refused'] = [];
  let handedOver = 0;
  await Promise.all(
    workflowIds.map((workflowId) =>
      limit(async () => {
        const request: MaintenanceRequest = {
          runId: `${opening.runId}/${workflowId}`,
          actor: opening.actor,
          trigger: 'schedule',
          windowEndsAt: opening.windowEndsAt,
          window: opening.window,
          windowOpensAt: opening.windowOpensAt,
          report: false,
        };
        const answer = await sendOne(client, workflowId, request);
        if (answer.handedOver) handedOver++;
        else refused.push({ workflowId, reason: answer.reason });
        context.heartbeat({ handedOver, refused: refused.length });
      }),
    ),
  );
  return { window: opening.window, found: workflowIds.length, handedOver, refused: refused.slice(0, REFUSALS_LISTED), refusedCount: refused.length };
}
