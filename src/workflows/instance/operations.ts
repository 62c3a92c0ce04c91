import {
  backupName, dbOpsName, majorOf, tenantNamespace, upgradeKindOf,
  type BackupPurpose, type BackupRecord, type CommandEnvelope, type CommandOf, type DbOpsToResume, type RunningOperation, type UpgradeKind,
} from '../../domain/logic.js';
import { condition, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { DbOpsSpec } from '../../activities/kubernetes/resources.js';
import { MAINTENANCE_WINDOW_ATTRIBUTE, instanceWindowKey, type LifecycleSettings } from '../messages.js';
import type { Proxies } from './activities.js';
import { claimParameters, instanceRef } from './claim.js';
import type { InstanceEntity } from './entity.js';
import { isoDuration } from './settings.js';
import { instancePatched } from './patches.js';

// Each operation as the steps a platform engineer would take by hand, each step an event.
// Rule that keeps validators honest: the first thing every operation does, before any await, is
// record the event that starts it.

const SCHEDULES_PATCH = 'instance-schedules';
const SCHEDULES_ALONGSIDE_PATCH = 'schedules-alongside-readiness';
// Runs recorded before each SGBackup and SGDbOps was created and awaited in one activity replay
// the two activities they took.
const ONE_ACTIVITY_PER_CLUSTER_STEP_PATCH = 'one-activity-per-cluster-step';
// Instances from before windows had their own Schedules carry no window attribute: they take it
// (and retire their own maintenance Schedule) at their next maintenance run or settings change;
// an instance moving to another window takes the new one. Asked only then, so that no other run
// records a marker (see patchGenerations).
const WINDOW_SCHEDULES_PATCH = 'maintenance-window-schedules';
// Runs recorded before the Schedules' upsert ran inside the workflow task replay the activity it
// was: at provisioning a task of the server's and a workflow task more, for a call that nearly
// always finds the window's Schedule known to the worker and does nothing (BENCHMARKS.md).
const SCHEDULES_BY_LOCAL_ACTIVITY_PATCH = 'schedules-by-local-activity';
// Runs recorded before the claim's apply ran inside the workflow task replay the activity it was:
// one server-side apply, a few milliseconds, that cost the server an activity task and the
// instance a workflow task more at every provisioning, resize, major upgrade and settings change
// (BENCHMARKS.md).
const CLAIM_APPLY_BY_LOCAL_ACTIVITY_PATCH = 'claim-apply-by-local-activity';

export type Actor = Pick<CommandEnvelope, 'requestId' | 'actor' | 'reason'>;
type RestartingOperation = 'scale' | 'restart' | 'maintenance';
export type Outcome = { ok: true } | { ok: false; reason: string; message: string };

export class Operations {
  constructor(
    private readonly entity: InstanceEntity,
    private readonly activities: Proxies,
    private readonly settings: LifecycleSettings,
  ) {}

  private get state() {
    return this.entity.known;
  }

  private by(actor: Actor) {
    return { actor: actor.actor, requestId: actor.requestId, ...(actor.reason ? { reason: actor.reason } : {}) };
  }

  private deadline(ms: number): number {
    return Date.now() + ms;
  }

  private async applyClaim(why: string): Promise<void> {
    const state = this.state;
    const proxy = instancePatched(CLAIM_APPLY_BY_LOCAL_ACTIVITY_PATCH) ? this.activities.local : this.activities.quick;
    await proxy.applyClaim.executeWithOptions(
      { summary: `apply claim ${state.name}: ${why}` },
      [{ ref: instanceRef(state), parameters: claimParameters(state) }],
    );
  }

  async provision(actor: Actor): Promise<void> {
    await this.entity.projectAhead();
    await this.applyClaim(`${this.state.spec.size}, PostgreSQL ${this.state.spec.version}`);
    const { namespace, instanceName } = instanceRef(this.state);
    this.entity.record({ type: 'ClaimApplied', ...this.by(actor), data: { namespace, claimName: instanceName, size: this.state.size, version: this.state.spec.version } });
    await this.entity.projectAhead();
    const waitForReady = () => this.activities.waits.waitForClaimReady.executeWithOptions(
      { summary: `wait for claim ${instanceName} to be Ready` },
      [{ namespace, name: instanceName, deadline: this.deadline(this.settings.provisionTimeoutMs) }],
    );
    // Ready means maintained: the schedules exist before the instance is announced. They are made
    // while the cluster comes up, so nothing stands between the claim's Ready and ours (the
    // instance refuses scheduled work until then). Histories from before run the two in turn.
    const alongside = instancePatched(SCHEDULES_ALONGSIDE_PATCH);
    const [readiness] = alongside ? await Promise.all([waitForReady(), this.upsertSchedules(true)]) : [await waitForReady()];
    if (readiness.ready) {
      if (!alongside) await this.upsertSchedules(true);
      this.entity.record({ type: 'InstanceReady', ...this.by(actor), data: { version: this.state.spec.version, connection: readiness.connection, ...(readiness.readyAt ? { claimReadyAt: readiness.readyAt } : {}) } });
    } else {
      // A failed instance is not maintained: its schedules go as they came.
      if (alongside) await this.deleteSchedules();
      this.entity.record({ type: 'ProvisioningFailed', ...this.by(actor), data: { conditionReason: readiness.reason, message: readiness.message } });
    }
    await this.entity.flush();
  }

  async scale(envelope: Actor & { command: CommandOf<'scale'> }): Promise<void> {
    const { size, applyAt } = envelope.command;
    this.entity.record({ type: 'ScaleRequested', ...this.by(envelope), data: { fromSize: this.state.size, toSize: size, applyAt } });
    await this.entity.projectAhead();
    await this.applyClaim(`resize to ${size}`);
    if (applyAt === 'maintenance') return;
    const { namespace, instanceName } = instanceRef(this.state);
    const { pendingRestart } = await this.activities.waits.waitForPendingRestart.executeWithOptions(
      { summary: `wait for ${instanceName} to ask for a restart` },
      [{ namespace, cluster: instanceName, deadline: this.deadline(this.settings.pendingRestartTimeoutMs) }],
    );
    if (!pendingRestart) {
      return this.fail(envelope, 'scale', 'PendingRestartNotReported', `the cluster did not report PendingRestart after the resize to ${size}`);
    }
    const restarted = await this.restartCluster(envelope, 'scale');
    if (restarted.ok) this.entity.record({ type: 'ScaleCompleted', ...this.by(envelope), data: { size } });
    await this.entity.flush();
  }

  /**
   * Goes on with an operation that a workflow taking the instance over found waiting for its own
   * backup (backupToResume): awaits that SGBackup again, then takes the operation's next steps.
   */
  async finishBackupAndGoOn(actor: Actor, operation: RunningOperation, backup: BackupRecord): Promise<void> {
    const taken = await this.finishBackup(actor, backup.name, backup.purpose);
    if (operation.type === 'major-upgrade' && operation.toVersion) await this.majorUpgradeAfterBackup(actor, operation.toVersion, taken);
    else if (operation.type === 'deprovision') await this.deprovisionAfterFinalBackup(actor, taken);
    await this.entity.flush();
  }

  /**
   * Goes on with a restart, a resize or an upgrade that a workflow taking the instance over found
   * waiting for its SGDbOps (dbOpsToResume): awaits that SGDbOps again and records how it ended.
   */
  async finishDbOps(actor: Actor, operation: RunningOperation, dbOps: DbOpsToResume): Promise<void> {
    const upgrade = upgradeKindOf(operation.type);
    if (upgrade) {
      await this.finishUpgrade(actor, upgrade, dbOps.name, dbOps.toVersion ?? this.state.version ?? this.state.spec.version, dbOps.backupPath);
    } else if (operation.type === 'scale') {
      const restarted = await this.finishRestart(actor, 'scale', dbOps.name);
      if (restarted.ok) this.entity.record({ type: 'ScaleCompleted', ...this.by(actor), data: { size: this.state.spec.size } });
    } else {
      await this.finishRestart(actor, 'restart', dbOps.name);
    }
    await this.entity.flush();
  }

  async restart(envelope: Actor): Promise<void> {
    this.entity.record({ type: 'RestartRequested', ...this.by(envelope), data: {} });
    await this.restartCluster(envelope, 'restart');
    await this.entity.flush();
  }

  async upgrade(envelope: Actor, kind: UpgradeKind, toVersion: string): Promise<Outcome> {
    const fromVersion = this.state.version ?? this.state.spec.version;
    this.entity.record({ type: 'UpgradeRequested', ...this.by(envelope), data: { kind, fromVersion, toVersion } });
    await this.entity.projectAheadInOlderRuns();
    if (kind !== 'major') return this.startUpgrade(envelope, kind, toVersion);
    return this.majorUpgradeAfterBackup(envelope, toVersion, await this.takeBackup(envelope, 'pre-upgrade'));
  }

  /** A major upgrade goes on only from a backup taken just before it. */
  private async majorUpgradeAfterBackup(envelope: Actor, toVersion: string, backup: Outcome & { name: string }): Promise<Outcome> {
    if (!backup.ok) {
      this.entity.record({
        type: 'UpgradeFailed',
        ...this.by(envelope),
        data: { kind: 'major', stackgresReason: 'PreUpgradeBackupFailed', message: `no upgrade without a backup: ${backup.message}` },
      });
      await this.entity.flush();
      return { ok: false, reason: 'PreUpgradeBackupFailed', message: backup.message };
    }
    return this.startUpgrade(envelope, 'major', toVersion, backup.name);
  }

  private async startUpgrade(envelope: Actor, kind: UpgradeKind, toVersion: string, backupPath?: string): Promise<Outcome> {
    const name = dbOpsName(this.state.name, kind, this.entity.nextSeq, this.state.instanceId);
    this.entity.record({ type: 'UpgradeStarted', ...this.by(envelope), data: { kind, dbOpsName: name } });
    return this.finishUpgrade(envelope, kind, name, toVersion, backupPath);
  }

  /**
   * An upgrade's steps once its SGDbOps is named: create it (a create of a name that exists adopts
   * it), wait for its end and record it. A workflow that took the instance over goes on from here.
   */
  async finishUpgrade(envelope: Actor, kind: UpgradeKind, name: string, toVersion: string, backupPath?: string): Promise<Outcome> {
    const fromVersion = this.state.version ?? this.state.spec.version;
    const specs: Record<UpgradeKind, DbOpsSpec> = {
      minor: { op: 'minorVersionUpgrade', minorVersionUpgrade: { postgresVersion: toVersion, method: 'InPlace' } },
      major: { op: 'majorVersionUpgrade', majorVersionUpgrade: { postgresVersion: toVersion, link: true, check: true, ...(backupPath ? { backupPath } : {}) } },
      security: { op: 'securityUpgrade', securityUpgrade: { method: 'InPlace' } },
    };
    const outcome = await this.runDbOps(envelope, name, specs[kind], `${kind} upgrade ${fromVersion} -> ${toVersion}`);
    if (outcome.status === 'completed') {
      const version = kind === 'security' ? fromVersion : outcome.version || toVersion;
      this.entity.record({ type: 'UpgradeCompleted', ...this.by(envelope), data: { kind, dbOpsName: name, version, ...(kind === 'security' ? { patchLevel: outcome.patchLevel } : {}) } });
      if (kind === 'security') {
        await this.entity.projectAheadInOlderRuns();
      } else {
        await this.entity.projectAhead();
        // Keep the claim in step with the cluster so the composition never rolls the version back.
        await this.applyClaim(`record PostgreSQL ${version} (major ${majorOf(version)})`);
      }
      return { ok: true };
    }
    this.entity.record({ type: 'UpgradeFailed', ...this.by(envelope), data: { kind, dbOpsName: name, stackgresReason: outcome.reason, message: outcome.message } });
    await this.entity.flush();
    return { ok: false, reason: outcome.reason, message: outcome.message };
  }

  async onDemandBackup(envelope: Actor): Promise<void> {
    await this.takeBackup(envelope, 'on-demand');
  }

  /** Deletes the SGBackup (its files in object storage go with it); the read model keeps the record, marked deleted. */
  async deleteBackup(envelope: Actor & { command: CommandOf<'delete-backup'> }): Promise<void> {
    const { backupName: name } = envelope.command;
    this.entity.record({ type: 'BackupDeletionRequested', ...this.by(envelope), data: { backupName: name } });
    await this.entity.projectAhead();
    await this.deleteBackupObject(name, 'asked for');
    this.entity.record({ type: 'BackupDeleted', ...this.by(envelope), data: { backupName: name, cause: 'requested' } });
  }

  async deleteBackupObject(name: string, why: string): Promise<void> {
    await this.activities.quick.deleteBackup.executeWithOptions(
      { summary: `delete SGBackup ${name} (${why})` },
      [{ namespace: tenantNamespace(this.state.tenant), name }],
    );
  }

  async changeSettings(envelope: Actor & { command: CommandOf<'change-settings'> }): Promise<void> {
    const { kind: _kind, ...changes } = envelope.command;
    this.entity.record({ type: 'SettingsChanged', ...this.by(envelope), data: changes });
    await this.entity.projectAhead();
    await this.applyClaim('settings changed');
    if ((changes.maintenanceWindow || changes.backup !== undefined) && this.state.phase === 'ready') await this.upsertSchedules();
  }

  /** A restore sent by the Schedule keeper is writing the Schedules. */
  private restoringSchedules = false;
  /** Writes of the Schedules by the instance's own operations, in flight. */
  private schedulesWrites = 0;

  /**
   * Whether the Schedules are being written now. A restore and an operation must not write them at
   * once: both read the spec when they start, and the one that started first could land last. A
   * write by local activity holds the workflow task, so no Update is taken meanwhile; but runs
   * recorded before write by activity, and a local write retried after a timeout can span tasks.
   */
  get writingSchedules(): boolean {
    return this.restoringSchedules || this.schedulesWrites > 0;
  }

  /**
   * Maintenance and backup schedules follow the instance's window and backup policy. At
   * provisioning the instance has no Schedule of its own to remove.
   */
  private async upsertSchedules(provisioning = false): Promise<void> {
    // Instances provisioned before schedules existed replay without them.
    if (!instancePatched(SCHEDULES_PATCH)) return;
    // An operation's write waits for a restore in flight, so that its own, from the newer spec,
    // lands last. Not awaited otherwise: runs recorded before issue their commands as they did.
    if (this.restoringSchedules) await condition(() => !this.restoringSchedules);
    this.schedulesWrites++;
    try {
      await this.writeSchedules(provisioning);
    } finally {
      this.schedulesWrites--;
    }
  }

  /** The keeper's restore (the validator refused it while anything else writes them): from the spec as it is now. */
  async restoreSchedules(): Promise<{ backupSchedule: boolean }> {
    const backupSchedule = this.state.spec.backup !== undefined;
    this.restoringSchedules = true;
    try {
      await this.writeSchedules(false);
    } finally {
      this.restoringSchedules = false;
    }
    return { backupSchedule };
  }

  /** The activity's own promise, not an async function's: runs recorded before resume on the tick they did. */
  private writeSchedules(provisioning: boolean): Promise<void> {
    const moved = this.moveWindowAttribute();
    const { tenant, name, spec } = this.state;
    const window = spec.maintenanceWindow;
    const proxy = instancePatched(SCHEDULES_BY_LOCAL_ACTIVITY_PATCH) ? this.activities.local : this.activities.quick;
    return proxy.upsertInstanceSchedules.executeWithOptions(
      { summary: `schedule maintenance (${window.dayOfWeek} ${window.timeOfDay} UTC)${spec.backup ? ` and backups ("${spec.backup.schedule}")` : ''} for ${name}` },
      [{
        tenant, name, instanceWorkflowId: workflowInfo().workflowId, maintenanceWindow: window, backup: spec.backup,
        ...(this.settings.maintenanceWindowMs ? { windowMs: this.settings.maintenanceWindowMs } : {}),
        ...(provisioning ? { provisioning } : {}),
        ...(moved === 'from its own Schedule' ? { retireOwnMaintenanceSchedule: true } : {}),
      }],
    );
  }

  /**
   * An instance from before windows had Schedules moves to its window's at its next maintenance
   * (sent by its own Schedule, which this retires), so that its next window finds it.
   */
  async moveToWindowSchedule(): Promise<void> {
    if (this.windowAttribute() === undefined && patched(WINDOW_SCHEDULES_PATCH)) await this.upsertSchedules();
  }

  private windowAttribute(): string | undefined {
    return workflowInfo().typedSearchAttributes.get(MAINTENANCE_WINDOW_ATTRIBUTE);
  }

  /** Points the instance's window attribute at its window, if it does not yet; says where from. */
  private moveWindowAttribute(): 'unchanged' | 'from another window' | 'from its own Schedule' {
    const before = this.windowAttribute();
    const key = instanceWindowKey({ spec: this.state.spec, settings: this.settings });
    if (before === key || !patched(WINDOW_SCHEDULES_PATCH)) return 'unchanged';
    upsertSearchAttributes([{ key: MAINTENANCE_WINDOW_ATTRIBUTE, value: key }]);
    return before === undefined ? 'from its own Schedule' : 'from another window';
  }

  /** Only those it has: a maintenance Schedule of its own if it predates window Schedules, a backup one if it has a policy. */
  private async deleteSchedules(): Promise<void> {
    if (this.restoringSchedules) await condition(() => !this.restoringSchedules);
    const { tenant, name, spec } = this.state;
    this.schedulesWrites++;
    try {
      await this.activities.quick.deleteInstanceSchedules.executeWithOptions(
        { summary: `delete the schedules of ${name}` },
        [{ tenant, name, maintenance: this.windowAttribute() === undefined, backup: spec.backup !== undefined }],
      );
    } finally {
      this.schedulesWrites--;
    }
  }

  /** Deletes the instance: its final backup if asked for, then its claim, then its Schedules. */
  async deprovision(envelope: Actor & { command: CommandOf<'deprovision'> }): Promise<void> {
    const { finalBackup } = envelope.command;
    this.entity.record({ type: 'DeprovisionRequested', ...this.by(envelope), data: { finalBackup } });
    await this.entity.projectAheadInOlderRuns();
    if (finalBackup) return this.deprovisionAfterFinalBackup(envelope, await this.takeBackup(envelope, 'final'));
    await this.deleteClaimAndSchedules(envelope);
  }

  private async deprovisionAfterFinalBackup(actor: Actor, backup: Outcome): Promise<void> {
    if (!backup.ok) return this.fail(actor, 'deprovision', 'FinalBackupFailed', `deprovisioning stopped, nothing was deleted: ${backup.message}`);
    await this.deleteClaimAndSchedules(actor);
  }

  /** A deprovisioning's steps past its final backup; a workflow that took the instance over goes on from here. */
  async deleteClaimAndSchedules(actor: Actor): Promise<void> {
    // Older runs projected everything before this point already: nothing is left to send.
    await this.entity.projectAhead();
    const { namespace, instanceName } = instanceRef(this.state);
    await this.activities.quick.deleteClaim.executeWithOptions({ summary: `delete claim ${instanceName}` }, [{ namespace, name: instanceName }]);
    const { gone } = await this.activities.waits.waitForClaimGone.executeWithOptions(
      { summary: `wait for claim ${instanceName} to be gone` },
      [{ namespace, name: instanceName, deadline: this.deadline(this.settings.deleteTimeoutMs) }],
    );
    if (!gone) return this.fail(actor, 'deprovision', 'ClaimNotDeleted', `claim ${instanceName} was still present after the delete timeout`);
    this.entity.record({ type: 'ClaimDeleted', ...this.by(actor), data: { claimName: instanceName } });
    if (instancePatched(SCHEDULES_PATCH)) {
      await this.entity.projectAhead();
      await this.deleteSchedules();
    }
    this.entity.record({ type: 'InstanceDeleted', ...this.by(actor), data: {} });
    await this.entity.flush();
  }

  async restartCluster(envelope: Actor, operation: RestartingOperation): Promise<Outcome> {
    const name = dbOpsName(this.state.name, 'restart', this.entity.nextSeq, this.state.instanceId);
    this.entity.record({ type: 'RestartStarted', ...this.by(envelope), data: { dbOpsName: name } });
    return this.finishRestart(envelope, operation, name);
  }

  /** A restart's steps once its SGDbOps is named, as finishUpgrade's. */
  private async finishRestart(envelope: Actor, operation: RestartingOperation, name: string): Promise<Outcome> {
    const spec: DbOpsSpec = { op: 'restart', restart: { method: 'ReducedImpact', onlyPendingRestart: operation !== 'restart' } };
    const outcome = await this.runDbOps(envelope, name, spec, operation === 'restart' ? 'restart' : 'restart to apply the new size');
    if (outcome.status === 'failed') {
      this.entity.record({ type: 'OperationFailed', ...this.by(envelope), data: { operation, dbOpsName: name, stackgresReason: outcome.reason, message: outcome.message } });
      return { ok: false, reason: outcome.reason, message: outcome.message };
    }
    this.entity.record({ type: 'RestartCompleted', ...this.by(envelope), data: { dbOpsName: name } });
    return { ok: true };
  }

  private async runDbOps(envelope: Actor, name: string, spec: DbOpsSpec, what: string) {
    await this.entity.projectAhead();
    const ref = instanceRef(this.state);
    const create = { ref, name, cluster: ref.instanceName, spec, operationId: envelope.requestId, timeout: isoDuration(this.settings.operationTimeoutMs) };
    const deadline = this.deadline(this.settings.operationTimeoutMs);
    if (instancePatched(ONE_ACTIVITY_PER_CLUSTER_STEP_PATCH)) {
      return this.activities.waits.runDbOps.executeWithOptions({ summary: `create SGDbOps ${name} (${what}) and wait for it` }, [{ ...create, deadline }]);
    }
    await this.activities.quick.createDbOps.executeWithOptions({ summary: `create SGDbOps ${name} (${what})` }, [create]);
    return this.activities.waits.waitForDbOps.executeWithOptions(
      { summary: `wait for SGDbOps ${name} (${what})` },
      [{ namespace: ref.namespace, name, cluster: ref.instanceName, deadline }],
    );
  }

  async takeBackup(envelope: Actor, purpose: BackupPurpose): Promise<Outcome & { name: string }> {
    const name = backupName(this.state.name, this.entity.nextSeq, this.state.instanceId);
    this.entity.record({ type: 'BackupRequested', ...this.by(envelope), data: { backupName: name, purpose } });
    return this.finishBackup(envelope, name, purpose);
  }

  /**
   * A requested backup's steps: create its SGBackup (a create of a name that exists adopts it) and
   * record how it ended. A workflow that took the instance over goes on from here.
   */
  async finishBackup(envelope: Actor, name: string, purpose: BackupPurpose): Promise<Outcome & { name: string }> {
    await this.entity.projectAhead();
    const ref = instanceRef(this.state);
    const create = { ref, name, cluster: ref.instanceName, operationId: envelope.requestId, managedLifecycle: purpose === 'scheduled' };
    const deadline = this.deadline(this.settings.backupTimeoutMs);
    const outcome = instancePatched(ONE_ACTIVITY_PER_CLUSTER_STEP_PATCH)
      ? await this.activities.waits.runBackup.executeWithOptions({ summary: `create SGBackup ${name} (${purpose}) and wait for it` }, [{ ...create, deadline }])
      : await this.createThenWaitForBackup(create, deadline, purpose);
    if (outcome.status === 'failed') {
      this.entity.record({ type: 'BackupFailed', ...this.by(envelope), data: { backupName: name, purpose, stackgresReason: outcome.reason, message: outcome.message } });
      await this.entity.flush();
      return { ok: false, name, reason: outcome.reason, message: outcome.message };
    }
    const { status: _status, ...result } = outcome;
    if (purpose === 'final') this.entity.record({ type: 'FinalBackupTaken', ...this.by(envelope), data: { backupName: name, ...result } });
    else this.entity.record({ type: 'BackupCompleted', ...this.by(envelope), data: { backupName: name, purpose, ...result } });
    await this.entity.projectAheadInOlderRuns();
    return { ok: true, name };
  }

  private async createThenWaitForBackup(create: Parameters<Proxies['quick']['createBackup']>[0], deadline: number, purpose: BackupPurpose) {
    await this.activities.quick.createBackup.executeWithOptions({ summary: `create SGBackup ${create.name} (${purpose})` }, [create]);
    return this.activities.waits.waitForBackup.executeWithOptions(
      { summary: `wait for SGBackup ${create.name} (${purpose})` },
      [{ namespace: create.ref.namespace, name: create.name, deadline }],
    );
  }

  private async fail(envelope: Actor, operation: 'scale' | 'deprovision', reason: string, message: string): Promise<void> {
    this.entity.record({ type: 'OperationFailed', ...this.by(envelope), data: { operation, stackgresReason: reason, message } });
    await this.entity.flush();
  }
}
