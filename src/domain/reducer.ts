import type { EventOf, InstanceEvent, OperationType, UpgradeKind } from './events.js';
import type { BackupRecord, InstanceState, MaintenanceRun, RunningOperation } from './state.js';

// The one fold from events to state. The workflow, the read-model projection, the rebuild and the
// "state at time T" view all call this, so they cannot disagree.

const UPGRADE_OPERATION: Record<UpgradeKind, OperationType> = {
  minor: 'minor-upgrade',
  major: 'major-upgrade',
  security: 'security-upgrade',
};
const UPGRADES: OperationType[] = ['minor-upgrade', 'major-upgrade', 'security-upgrade'];

/** The kind of upgrade an operation type is, if it is one. */
export const upgradeKindOf = (type: OperationType): UpgradeKind | undefined =>
  (Object.keys(UPGRADE_OPERATION) as UpgradeKind[]).find((kind) => UPGRADE_OPERATION[kind] === type);
// Operations whose one step left, once their SGDbOps is named, is that SGDbOps (dbOpsToResume).
const AWAITING_ONE_SGDBOPS: OperationType[] = ['restart', 'scale', ...UPGRADES];
// Operations that take a backup of their own before they go on (backupToResume).
const BACKING_UP: OperationType[] = ['backup', 'major-upgrade', 'deprovision'];
type Outcome = 'succeeded' | 'failed';
type Failure = { reason: string; message: string };
// A deprovisioning's steps once no final backup stands before the claim's deletion (operationToResume).
const DELETING_THE_CLAIM = 'deleting the claim';
const CLAIM_DELETED = 'claim deleted';

export class EventOrderError extends Error {}

export function reduce(state: InstanceState | null, event: InstanceEvent): InstanceState {
  if (state === null) {
    if (event.type !== 'InstanceRequested') throw new EventOrderError(`the first event must be InstanceRequested, got ${event.type}`);
    return requested(event);
  }
  if (event.seq !== state.lastSeq + 1) {
    throw new EventOrderError(`event ${event.type} has seq ${event.seq}, expected ${state.lastSeq + 1}`);
  }
  return { ...apply(state, event), lastSeq: event.seq, updatedAt: event.at };
}

export const reduceAll = (events: readonly InstanceEvent[], from: InstanceState | null = null): InstanceState | null =>
  events.reduce<InstanceState | null>(reduce, from);

function requested(event: EventOf<'InstanceRequested'>): InstanceState {
  const { instanceId, tenant, spec } = event.data;
  return {
    instanceId,
    tenant,
    name: spec.name,
    phase: 'provisioning',
    spec,
    version: null,
    patchLevel: 0,
    size: spec.size,
    pendingRestart: false,
    claim: null,
    connection: null,
    runningOperation: { id: event.requestId, type: 'provision', actor: event.actor, startedAt: event.at, step: 'applying the claim' },
    lastOperation: null,
    backups: [],
    failure: null,
    maintenance: null,
    createdAt: event.at,
    updatedAt: event.at,
    lastSeq: event.seq,
  };
}

function apply(state: InstanceState, event: InstanceEvent): InstanceState {
  switch (event.type) {
    case 'InstanceRequested':
      throw new EventOrderError('InstanceRequested can only be the first event');
    case 'ClaimApplied':
      return withStep({ ...state, claim: { namespace: event.data.namespace, name: event.data.claimName } }, 'waiting for the cluster to be ready');
    case 'InstanceReady':
      return finish({ ...state, phase: 'ready', version: event.data.version, connection: event.data.connection, failure: null }, event, ['provision'], 'succeeded');
    case 'ProvisioningFailed': {
      const error = { reason: event.data.conditionReason, message: event.data.message };
      return finish({ ...state, phase: 'failed', failure: error }, event, ['provision'], 'failed', error);
    }
    case 'SettingsChanged': {
      const { backup, ...rest } = event.data;
      const spec = { ...state.spec, ...rest };
      if (backup === null) delete spec.backup;
      else if (backup) spec.backup = backup;
      return finish(start({ ...state, spec }, event, 'change-settings', 'applying settings'), event, ['change-settings'], 'succeeded');
    }
    case 'ScaleRequested': {
      const resized = { ...state, spec: { ...state.spec, size: event.data.toSize }, size: event.data.toSize, pendingRestart: true };
      return event.data.applyAt === 'maintenance'
        ? finish(start(resized, event, 'scale', 'restart deferred to the maintenance window'), event, ['scale'], 'succeeded')
        : start(resized, event, 'scale', 'waiting for the cluster to ask for a restart');
    }
    case 'RestartRequested':
      return start(state, event, 'restart', 'restarting');
    case 'RestartStarted':
      return withRunning(state, { step: `restarting (${event.data.dbOpsName})`, dbOpsName: event.data.dbOpsName });
    case 'RestartCompleted':
      // A resize or maintenance run goes on past its restart: nothing is left for a takeover to await.
      return finish(withoutDbOps({ ...state, pendingRestart: false }), event, ['restart'], 'succeeded');
    case 'ScaleCompleted':
      return finish({ ...state, size: event.data.size }, event, ['scale'], 'succeeded');
    case 'UpgradeRequested': {
      const started = start(state, event, UPGRADE_OPERATION[event.data.kind], `${event.data.kind} upgrade ${event.data.fromVersion} -> ${event.data.toVersion} requested`);
      return withRunning(started, { toVersion: event.data.toVersion });
    }
    case 'UpgradeStarted':
      return withRunning(state, { step: `upgrading (${event.data.dbOpsName})`, dbOpsName: event.data.dbOpsName });
    case 'UpgradeCompleted': {
      // Every upgrade rolls the pods, which applies a pending sizing change as well.
      const rolled = { ...state, pendingRestart: false };
      const upgraded =
        event.data.kind === 'security'
          ? { ...rolled, patchLevel: event.data.patchLevel ?? state.patchLevel + 1 }
          : { ...rolled, version: event.data.version, spec: { ...state.spec, version: event.data.version } };
      return finish(withoutDbOps(upgraded), event, UPGRADES, 'succeeded');
    }
    case 'UpgradeFailed':
      return finish(state, event, UPGRADES, 'failed', { reason: event.data.stackgresReason, message: event.data.message });
    case 'BackupRequested': {
      const record: BackupRecord = {
        name: event.data.backupName,
        purpose: event.data.purpose,
        requestId: event.requestId,
        status: 'running',
        requestedAt: event.at,
      };
      const withBackup = { ...state, backups: [...state.backups, record] };
      const standalone = event.data.purpose === 'on-demand' || event.data.purpose === 'scheduled';
      return standalone ? start(withBackup, event, 'backup', `backing up (${record.name})`) : withStep(withBackup, `backing up (${record.name})`);
    }
    case 'BackupCompleted':
    case 'FinalBackupTaken': {
      const { backupName, ...result } = event.data;
      return finish(updateBackup(state, backupName, { status: 'completed', ...result }), event, ['backup'], 'succeeded');
    }
    case 'BackupFailed': {
      const failed = updateBackup(state, event.data.backupName, { status: 'failed', error: event.data.message });
      return finish(failed, event, ['backup'], 'failed', { reason: event.data.stackgresReason, message: event.data.message });
    }
    case 'BackupDeletionRequested':
      return start(state, event, 'delete-backup', `deleting SGBackup ${event.data.backupName}`);
    case 'BackupDeleted': {
      const remaining = { ...state, backups: state.backups.filter((backup) => backup.name !== event.data.backupName) };
      return finish(remaining, event, ['delete-backup'], 'succeeded');
    }
    case 'OperationFailed':
      return finish(state, event, null, 'failed', { reason: event.data.stackgresReason, message: event.data.message });
    case 'MaintenanceWindowOpened':
      // A new run: nothing of the last one (its start, end, outcome) carries over.
      return withMaintenance({ ...state, maintenance: null }, {
        runId: event.data.runId,
        trigger: event.data.trigger,
        status: 'waiting',
        openedAt: event.at,
        windowEndsAt: event.data.windowEndsAt,
        ...(event.data.windowOpensAt ? { windowOpensAt: event.data.windowOpensAt } : {}),
      });
    case 'MaintenanceStarted':
      return withMaintenance(start(state, event, 'maintenance', event.data.plan), { status: 'running', startedAt: event.at, outcome: event.data.plan });
    case 'MaintenanceCompleted':
      return finish(withMaintenance(state, { status: 'completed', finishedAt: event.at, outcome: event.data.summary }), event, ['maintenance'], 'succeeded');
    case 'MaintenanceFailed': {
      const error = { reason: `MaintenanceFailed:${event.data.step}`, message: event.data.message };
      return finish(withMaintenance(state, { status: 'failed', finishedAt: event.at, outcome: event.data.message }), event, ['maintenance'], 'failed', error);
    }
    case 'MaintenanceSkipped':
      return withMaintenance(state, { status: 'skipped', finishedAt: event.at, outcome: event.data.cause });
    case 'DeprovisionRequested':
      return start({ ...state, phase: 'deprovisioning' }, event, 'deprovision', event.data.finalBackup ? 'taking the final backup' : DELETING_THE_CLAIM);
    case 'ClaimDeleted':
      return withStep(state, CLAIM_DELETED);
    case 'InstanceDeleted':
      return finish({ ...state, phase: 'deleted', connection: null }, event, ['deprovision'], 'succeeded');
    case 'InstanceAdopted':
      return abandonUnfinishedWork(state, event);
  }
}

/**
 * What the workflow before an adoption had begun and nobody saw end: its operation failed, a
 * provisioning with it (the instance may be deprovisioned), its maintenance run and backups with
 * no outcome. The cluster may well have finished them; the new workflow does not guess. The one
 * exception is an operation the new workflow goes on with (`resumedOperation`, see
 * operationToResume): it stays running, and the cluster's answer ends it.
 */
function abandonUnfinishedWork(state: InstanceState, event: EventOf<'InstanceAdopted'>): InstanceState {
  const error = { reason: 'Abandoned', message: 'the workflow running it ended outside claimflow; its outcome on the cluster is unknown' };
  const running = state.runningOperation;
  const resumed = running !== null && event.data.resumedOperation?.id === running.id;
  const afterOperation: InstanceState = running && !resumed
    ? {
        ...state,
        phase: state.phase === 'provisioning' ? 'failed' : state.phase === 'deprovisioning' ? 'ready' : state.phase,
        ...(state.phase === 'provisioning' ? { failure: error } : {}),
        runningOperation: null,
        lastOperation: { id: running.id, type: running.type, actor: running.actor, startedAt: running.startedAt, status: 'failed', finishedAt: event.at, error },
      }
    : state;
  const afterMaintenance = maintenanceUnfinished(state)
    ? withMaintenance(afterOperation, { status: 'failed', finishedAt: event.at, outcome: error.message })
    : afterOperation;
  const abandoned = (backup: BackupRecord) => backup.status === 'running' && !(resumed && backup.requestId === running.id);
  return state.backups.some(abandoned)
    ? { ...afterMaintenance, backups: state.backups.map((backup) => (abandoned(backup) ? { ...backup, status: 'failed', error: error.message } : backup)) }
    : afterMaintenance;
}

/** A maintenance run waits for its slot or runs: an adoption fails it, and the new workflow hands its slot back. */
export const maintenanceUnfinished = (state: InstanceState): boolean =>
  state.maintenance?.status === 'waiting' || state.maintenance?.status === 'running';

/**
 * The operation a workflow taking an instance over goes on with rather than abandon: one whose
 * remaining steps ask the cluster for an end state whatever the old workflow did, so that doing
 * them again is safe. A provisioning applies its claim again (an apply of the same spec changes
 * nothing) and waits for Ready; a backup, or a deprovisioning or major upgrade waiting for its
 * own backup, creates its SGBackup by the name it recorded (a create of a name that exists adopts
 * it), waits for its end and goes on as it would have; a restart, a resize or an upgrade whose
 * SGDbOps is named does the same with its SGDbOps; a deprovisioning past its final backup deletes
 * the claim again and waits for it to be gone. Anything else is abandoned: a maintenance run (its
 * window and fleet slot were the old workflow's), and an operation whose next object on the
 * cluster the log does not name (the old workflow may have created it under a name no one knows).
 */
export function operationToResume(state: InstanceState): RunningOperation | null {
  const running = state.runningOperation;
  if (!running) return null;
  if (running.type === 'provision' || backupToResume(state) || dbOpsToResume(state)) return running;
  if (running.type !== 'deprovision') return null;
  const ownBackups = state.backups.filter((backup) => backup.requestId === running.id);
  const finalBackupTaken = ownBackups.some((backup) => backup.status === 'completed');
  return finalBackupTaken || running.step === DELETING_THE_CLAIM || running.step === CLAIM_DELETED ? running : null;
}

/**
 * The SGBackup an operation that goes on after an adoption waits for: its own, still running. A
 * backup's, a deprovisioning's final one, or a major upgrade's (which knows the version it was asked for).
 */
export function backupToResume(state: InstanceState): BackupRecord | undefined {
  const running = state.runningOperation;
  if (!running || !BACKING_UP.includes(running.type) || (running.type === 'major-upgrade' && !running.toVersion)) return undefined;
  return state.backups.find((backup) => backup.requestId === running.id && backup.status === 'running');
}

export interface DbOpsToResume {
  name: string;
  toVersion?: string;
  backupPath?: string;
}

/**
 * The SGDbOps an operation that goes on after an adoption waits for: a restart's, a resize's
 * restart, or an upgrade's (with the version it was asked for, and a major upgrade's backup).
 * The event naming it is projected while the object is created: where the old workflow ended
 * before the name reached the read model, the takeover does not know it and abandons the operation.
 */
export function dbOpsToResume(state: InstanceState): DbOpsToResume | undefined {
  const running = state.runningOperation;
  const name = running?.dbOpsName;
  if (!running || !name || !AWAITING_ONE_SGDBOPS.includes(running.type)) return undefined;
  if (running.type === 'restart' || running.type === 'scale' || running.type === 'security-upgrade') return { name };
  if (!running.toVersion) return undefined;
  if (running.type === 'minor-upgrade') return { name, toVersion: running.toVersion };
  const backup = state.backups.find((candidate) => candidate.requestId === running.id && candidate.purpose === 'pre-upgrade' && candidate.status === 'completed');
  return backup ? { name, toVersion: running.toVersion, backupPath: backup.name } : undefined;
}

/** Starts an operation; an event of the operation already running (same request) only moves its step. */
function start(state: InstanceState, event: InstanceEvent, type: OperationType, step: string): InstanceState {
  if (state.runningOperation?.id === event.requestId) return withStep(state, step);
  const running: RunningOperation = { id: event.requestId, type, actor: event.actor, startedAt: event.at, step };
  return { ...state, runningOperation: running };
}

function withStep(state: InstanceState, step: string): InstanceState {
  return withRunning(state, { step });
}

function withRunning(state: InstanceState, change: Partial<RunningOperation>): InstanceState {
  return state.runningOperation ? { ...state, runningOperation: { ...state.runningOperation, ...change } } : state;
}

function withoutDbOps(state: InstanceState): InstanceState {
  if (!state.runningOperation?.dbOpsName) return state;
  const { dbOpsName: _done, ...running } = state.runningOperation;
  return { ...state, runningOperation: running };
}

/**
 * Finishes the running operation when the event belongs to it and is the kind of event that ends
 * that kind of operation (`types`; null: any). A backup inside a maintenance run does not end it.
 */
function finish(state: InstanceState, event: InstanceEvent, types: OperationType[] | null, status: Outcome, error?: Failure): InstanceState {
  const running = state.runningOperation;
  if (!running || running.id !== event.requestId || (types && !types.includes(running.type))) return state;
  const { step: _step, dbOpsName: _dbOps, toVersion: _toVersion, ...operation } = running;
  // A failed deprovision (say, the final backup failed) leaves the instance serving, not half-deleted.
  const phase = status === 'failed' && state.phase === 'deprovisioning' ? 'ready' : state.phase;
  return {
    ...state,
    phase,
    runningOperation: null,
    lastOperation: { ...operation, status, finishedAt: event.at, ...(error ? { error } : {}) },
  };
}

function withMaintenance(state: InstanceState, change: Partial<MaintenanceRun> & Pick<MaintenanceRun, 'status'>): InstanceState {
  const current = state.maintenance;
  if (!current && !('runId' in change)) return state;
  return { ...state, maintenance: { ...(current as MaintenanceRun), ...change } };
}

function updateBackup(state: InstanceState, name: string, change: Partial<BackupRecord>): InstanceState {
  return { ...state, backups: state.backups.map((backup) => (backup.name === name ? { ...backup, ...change } : backup)) };
}
