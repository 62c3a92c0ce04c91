import { condition, getExternalWorkflowHandle, patched, workflowInfo } from '@temporalio/workflow';
import {
  MAINTENANCE_BACKUPS_KEPT, expiredBackups, planMaintenance,
  type BackupRecord, type MaintenanceRequest, type MaintenanceStep, type ScheduledBackupRequest,
} from '../../domain/logic.js';
import { releaseSlotSignal, scheduledWorkFinishedSignal, type MaintenanceSlotState, type ScheduledWorkResult, type SlotGrant } from '../messages.js';
import { localSteps, type Proxies } from './activities.js';
import { PROJECTION_BEFORE_EACH_STEP_PATCH, type InstanceEntity } from './entity.js';
import type { Actor, Operations, Outcome } from './operations.js';
import { instancePatched } from './patches.js';

// Runs recorded before it released the slot through an activity, after the last projection.
const SLOT_SIGNAL_PATCH = 'slot-release-by-signal';
// Runs recorded while it released the slot with a signal of its own: the server holds the sender's
// lock while it delivers, and instances and the coordinator signalling each other at fleet scale
// waited on each other's locks (BENCHMARKS.md). Now an activity sends it, still early.
const SLOT_RELEASE_ACTIVITY_PATCH = 'slot-release-by-activity';
// Came after the first generation's baseline, so asked on their own (see patchGenerations).
const RETENTION_OF_FAILED_BACKUPS_PATCH = 'retention-deletes-superseded-failed-backups';
const MAINTENANCE_BACKUP_RETENTION_PATCH = 'maintenance-backups-expire';
// Runs recorded before started the upgrade whatever the time (asked only once the window has
// closed, so that most runs record no marker).
const DISRUPTION_WITHIN_WINDOW_PATCH = 'maintenance-disrupts-only-within-window';

/**
 * Work the instance's schedules ask for. Unlike a user's command it waits for a running operation,
 * within its window, and for a fleet slot; a window that closes first is recorded as skipped.
 */
export class ScheduledWork {
  private slot: 'none' | 'waiting' | 'granted' = 'none';
  private fleetWorkflowId: string | undefined;

  constructor(
    private readonly entity: InstanceEntity,
    private readonly activities: Proxies,
    private readonly operations: Operations,
  ) {}

  get slotState(): MaintenanceSlotState {
    return { slot: this.slot, ...(this.fleetWorkflowId ? { fleetWorkflowId: this.fleetWorkflowId } : {}) };
  }

  /**
   * The fleet coordinator answered. A grant that comes after we gave up is handed back; one that
   * repeats the slot we hold (a retried delivery) changes nothing.
   */
  onSlotGranted(grant?: SlotGrant): void {
    if (grant) this.fleetWorkflowId = grant.fleetWorkflowId;
    if (this.slot === 'waiting') this.slot = 'granted';
    else if (this.slot === 'none') void this.releaseSlot();
  }

  async maintain(request: MaintenanceRequest): Promise<ScheduledWorkResult> {
    const { runId } = request;
    const by: Actor = { actor: request.actor, requestId: runId };
    const opensAt = request.windowOpensAt ? { windowOpensAt: request.windowOpensAt } : {};
    this.entity.record({ type: 'MaintenanceWindowOpened', ...by, data: { runId, trigger: request.trigger, windowEndsAt: request.windowEndsAt, ...opensAt } });
    await this.entity.projectAhead();
    await this.operations.moveToWindowSchedule();
    const windowEnd = Date.parse(request.windowEndsAt);

    const skip = async (cause: string): Promise<ScheduledWorkResult> => {
      this.entity.record({ type: 'MaintenanceSkipped', ...by, data: { runId, cause } });
      await this.entity.flush();
      return { runId, status: 'skipped', detail: cause };
    };
    const fail = async (step: MaintenanceStep, message: string): Promise<ScheduledWorkResult> => {
      this.entity.record({ type: 'MaintenanceFailed', ...by, data: { runId, step, message } });
      await this.entity.flush();
      return { runId, status: 'failed', detail: message };
    };

    const busy = await this.waitUntilFree(windowEnd);
    if (busy) return skip(`the window closed while ${busy} was running`);

    this.slot = 'waiting';
    await localSteps(this.activities).requestMaintenanceSlot.executeWithOptions({ summary: 'ask the fleet for a maintenance slot' }, [{ requester: workflowInfo().workflowId }]);
    const granted = await waitUntil(() => this.slot === 'granted', windowEnd);
    try {
      if (!granted) return await skip('no fleet maintenance slot came free before the window closed (the fleet is at its cap, or maintenance is paused)');
      // A user's command may have started while we waited for the slot: it goes first.
      const busyAgain = await this.waitUntilFree(windowEnd);
      if (busyAgain) return await skip(`the window closed while ${busyAgain} was running`);

      const plan = planMaintenance(this.entity.known);
      const pendingResize = this.entity.known.pendingRestart;
      const planText = `backup, then ${plan.kind === 'minor' ? `minor upgrade to ${plan.toVersion}` : 'security upgrade'}${pendingResize ? ' (applies the pending resize)' : ''}`;
      this.entity.record({ type: 'MaintenanceStarted', ...by, data: { runId, plan: planText } });

      const backup = await this.operations.takeBackup(by, 'maintenance');
      if (!backup.ok) return await fail('backup', `maintenance stopped before any change: the backup failed: ${backup.message}`);
      // The upgrade takes the database down: never outside the window the tenant chose, however
      // long the backup took (or however late a workflow reset by hand carries on). Its rolling
      // restart applies a pending resize too (the reducer), so nothing disruptive follows it.
      if (windowClosed(windowEnd)) {
        return await fail('upgrade', `the window closed during the backup (${backup.name}), so the ${plan.kind} upgrade did not start outside it; it waits for the next window (a longer maintenanceWindow.durationMinutes gives it room)`);
      }
      const upgrade = await this.operations.upgrade(by, plan.kind, plan.toVersion);
      if (!upgrade.ok) return await fail('upgrade', `the ${plan.kind} upgrade failed (${upgrade.reason}): ${upgrade.message}`);
      if (this.entity.known.pendingRestart) {
        const restart = await this.operations.restartCluster(by, 'maintenance');
        if (!restart.ok) return await fail('restart', `the restart for the pending resize failed: ${restart.message}`);
      }
      await this.pruneMaintenanceBackups(by);
      const summary = `backup ${backup.name}, ${plan.kind === 'minor' ? `upgraded to ${plan.toVersion}` : `security patch level ${this.entity.known.patchLevel}`}`;
      this.entity.record({ type: 'MaintenanceCompleted', ...by, data: { runId, summary } });
      // The cluster work is done: the next instance may start while this one is projected, the
      // projection and the hand-back running side by side.
      if (instancePatched(PROJECTION_BEFORE_EACH_STEP_PATCH)) await this.entity.projectAhead();
      if (instancePatched(SLOT_SIGNAL_PATCH)) await this.handBackSlot();
      await this.entity.flush();
      return { runId, status: 'completed', detail: summary };
    } finally {
      await this.handBackSlot();
    }
  }

  async scheduledBackup(request: ScheduledBackupRequest): Promise<ScheduledWorkResult> {
    const { runId } = request;
    const by: Actor = { actor: request.actor, requestId: runId };
    const busy = await this.waitUntilFree(Date.parse(request.notAfter));
    if (busy) return { runId, status: 'skipped', detail: `${busy} was still running` };
    return this.afterScheduledBackup(by, await this.operations.takeBackup(by, 'scheduled'));
  }

  /** Retention once a scheduled backup completed, and what its run is told. */
  private async afterScheduledBackup(by: Actor, backup: Outcome & { name: string }): Promise<ScheduledWorkResult> {
    const runId = by.requestId;
    if (!backup.ok) return { runId, status: 'failed', detail: backup.message };
    await this.applyRetention(by);
    return { runId, status: 'completed', detail: `backup ${backup.name}` };
  }

  /** Tells the run workflow (its id is the run id) how its work went: it waits for this, not for the Update. */
  async reportTo(runId: string, result: ScheduledWorkResult): Promise<void> {
    if (instancePatched('report-by-local-activity')) {
      await this.activities.local.reportScheduledWork.executeWithOptions({ summary: `report ${result.status} to ${runId}` }, [{ runId, result }]);
    } else if (instancePatched('report-scheduled-work')) {
      await getExternalWorkflowHandle(runId).signal(scheduledWorkFinishedSignal, result).catch(() => undefined);
    }
  }

  /**
   * Deletes the oldest completed scheduled backups beyond the policy's retention, and the failed
   * scheduled backups a later one has superseded; never any other backup.
   */
  private async applyRetention(by: Actor): Promise<void> {
    const { spec, backups } = this.entity.known;
    if (!spec.backup) return;
    const { beyondKeep, supersededFailures } = expiredBackups(backups, 'scheduled', spec.backup.retention);
    for (const expired of beyondKeep) await this.deleteExpiredBackup(by, expired.name, `beyond retention of ${spec.backup.retention}`);
    // Runs recorded before failed backups were cleaned up kept them. Asked only when there is one,
    // so that most runs record no marker.
    if (supersededFailures.length === 0 || !patched(RETENTION_OF_FAILED_BACKUPS_PATCH)) return;
    for (const failed of supersededFailures) await this.deleteExpiredBackup(by, failed.name, 'failed, superseded by a later backup');
  }

  /** The maintenance backups of all but the last windows, and failed ones a later window superseded. */
  private async pruneMaintenanceBackups(by: Actor): Promise<void> {
    const { beyondKeep, supersededFailures } = expiredBackups(this.entity.known.backups, 'maintenance', MAINTENANCE_BACKUPS_KEPT);
    const expired = [...supersededFailures, ...beyondKeep];
    // Runs recorded before maintenance backups expired kept them (asked only when one has).
    if (expired.length === 0 || !patched(MAINTENANCE_BACKUP_RETENTION_PATCH)) return;
    for (const backup of expired) {
      await this.deleteExpiredBackup(by, backup.name, backup.status === 'failed' ? 'failed, superseded by a later backup' : `older than the last ${MAINTENANCE_BACKUPS_KEPT} windows`);
    }
  }

  private async deleteExpiredBackup(by: Actor, name: string, why: string): Promise<void> {
    // Older runs projected everything before this point already: nothing is left to send.
    await this.entity.projectAhead();
    await this.operations.deleteBackupObject(name, why);
    this.entity.record({ type: 'BackupDeleted', ...by, data: { backupName: name, cause: 'retention' } });
    await this.entity.projectAheadInOlderRuns();
  }

  /**
   * A scheduled backup that a workflow taking the instance over found running: awaited again by
   * its name, then retention as its run would have applied it, and the run that waits is told.
   */
  async finishScheduledBackup(by: Actor, backup: BackupRecord): Promise<void> {
    const result = await this.afterScheduledBackup(by, await this.operations.finishBackup(by, backup.name, 'scheduled'));
    await this.entity.flush();
    await this.reportTo(by.requestId, result);
  }

  /**
   * The maintenance run a workflow taking the instance over failed as abandoned held a slot of the
   * fleet's, or waited for one: it goes back, or no other instance could ever have it.
   */
  async handBackAbandonedSlot(): Promise<void> {
    await this.releaseSlot();
  }

  /** Gives up a held or awaited slot, once. */
  private async handBackSlot(): Promise<void> {
    if (this.slot === 'none') return;
    this.slot = 'none';
    await this.releaseSlot();
  }

  private async releaseSlot(): Promise<void> {
    const requester = workflowInfo().workflowId;
    if (this.fleetWorkflowId && !instancePatched(SLOT_RELEASE_ACTIVITY_PATCH) && instancePatched(SLOT_SIGNAL_PATCH)) {
      try {
        await getExternalWorkflowHandle(this.fleetWorkflowId).signal(releaseSlotSignal, { requester });
      } catch {
        // The coordinator is gone (it is restarted with no holders): nothing to hand back.
      }
      return;
    }
    await localSteps(this.activities).releaseMaintenanceSlot.executeWithOptions({ summary: 'hand the maintenance slot back to the fleet' }, [{ requester }]);
  }

  /** Waits until no operation runs; returns what was still running at the deadline, or null. */
  private async waitUntilFree(deadline: number): Promise<string | null> {
    const free = await waitUntil(() => this.entity.known.runningOperation === null, deadline);
    const running = this.entity.known.runningOperation;
    return free || !running ? null : `${running.type} (operation ${running.id})`;
  }
}

/** Whether the window has closed, for runs that stop disrupting once it has (see the patch). */
const windowClosed = (windowEnd: number): boolean => Date.now() >= windowEnd && patched(DISRUPTION_WITHIN_WINDOW_PATCH);

async function waitUntil(test: () => boolean, deadline: number): Promise<boolean> {
  const remaining = deadline - Date.now();
  if (test()) return true;
  if (remaining <= 0) return false;
  return condition(test, remaining);
}
