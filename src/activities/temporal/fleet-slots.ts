import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import pLimit from 'p-limit';
import { describeIfKept } from '../../clients/workflow-runs.js';
import { fleetStatusQuery, releaseSlotsSignal } from '../../workflows/messages.js';

// A maintenance run hands its fleet slot back when it ends. One whose workflow was ended by hand
// in the middle never does, and the fleet's cap stays one smaller for good: a holder whose
// workflow no longer runs gets its slot released by the keeper's run. (A waiting one is dropped
// by the fleet itself, when its grant finds the workflow gone.)

const DESCRIBING_AT_ONCE = 10;

/** The fleet's slot holders whose workflow no longer runs, handed back; their workflow ids. */
export async function releaseSlotsOfEndedHolders(client: Client, fleetWorkflowId: string): Promise<{ slotsReleased: string[] }> {
  const fleet = client.workflow.getHandle(fleetWorkflowId);
  let holders: string[];
  try {
    holders = (await fleet.query(fleetStatusQuery)).running;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { slotsReleased: [] };
    throw error;
  }
  const limit = pLimit(DESCRIBING_AT_ONCE);
  const ended = await Promise.all(
    holders.map((holder) =>
      limit(async () => {
        const run = await describeIfKept(client.workflow.getHandle(holder));
        Context.current().heartbeat();
        return run?.status.name === 'RUNNING' ? null : holder;
      }),
    ),
  );
  const released = ended.filter((holder): holder is string => holder !== null).sort();
  if (released.length > 0) await fleet.signal(releaseSlotsSignal, { requesters: released });
  return { slotsReleased: released };
}
