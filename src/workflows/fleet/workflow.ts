import {
  allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, setHandler, workflowInfo,
} from '@temporalio/workflow';
import {
  configureFleetUpdate, fleetStatusQuery, releaseSlotSignal, requestSlotSignal, slotGrantedSignal,
  type FleetInput, type FleetStatus,
} from '../messages.js';

/**
 * The fleet's maintenance coordinator (one per namespace): hands out at most `maxConcurrent`
 * maintenance slots, first come first served, none while paused. Instances ask with a signal and
 * are answered with one, so a slot survives any worker or server restart.
 */
export async function maintenanceFleetWorkflow(input: FleetInput): Promise<void> {
  const status: FleetStatus = { running: [], waiting: [], ...input };

  setHandler(fleetStatusQuery, () => status);
  setHandler(requestSlotSignal, ({ requester }) => {
    if (!status.running.includes(requester) && !status.waiting.includes(requester)) status.waiting.push(requester);
  });
  setHandler(releaseSlotSignal, ({ requester }) => {
    status.running = status.running.filter((holder) => holder !== requester);
    status.waiting = status.waiting.filter((waiter) => waiter !== requester);
  });
  setHandler(
    configureFleetUpdate,
    (change) => {
      if (change.maxConcurrent !== undefined) status.maxConcurrent = change.maxConcurrent;
      if (change.paused !== undefined) status.paused = change.paused;
      return status;
    },
    {
      validator: (change: { maxConcurrent?: number }) => {
        if (change.maxConcurrent !== undefined && (!Number.isInteger(change.maxConcurrent) || change.maxConcurrent < 1)) {
          throw new Error('maxConcurrent must be a whole number >= 1');
        }
      },
    },
  );

  const canGrant = () => !status.paused && status.waiting.length > 0 && status.running.length < status.maxConcurrent;
  for (;;) {
    await condition(() => canGrant() || workflowInfo().continueAsNewSuggested);
    if (!canGrant()) break;
    while (canGrant()) {
      const requester = status.waiting.shift()!;
      status.running.push(requester);
      try {
        await getExternalWorkflowHandle(requester).signal(slotGrantedSignal, { fleetWorkflowId: workflowInfo().workflowId });
      } catch {
        // The instance's workflow is gone: its slot is free again.
        status.running = status.running.filter((holder) => holder !== requester);
      }
    }
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof maintenanceFleetWorkflow>(status);
}
