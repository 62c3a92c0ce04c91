import type { EventOf, InstanceEvent, OperationType, UpgradeKind } from './events.js';
import type { BackupRecord, InstanceState, RunningOperation } from './state.js';

// The one fold from events to state. The workflow, the read-model projection, the rebuild and the
// "state at time T" view all call this, so they cannot disagree.

const UPGRADE_OPERATION: Record<UpgradeKind, OperationType> = {
  minor: 'minor-upgrade',
  major: 'major-upgrade',
  security: 'security-upgrade',
};

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
      return finish({ ...state, phase: 'ready', version: event.data.version, connection: event.data.connection, failure: null }, event, 'succeeded');
    case 'ProvisioningFailed': {
      const error = { reason: event.data.conditionReason, message: event.data.message };
      return finish({ ...state, phase: 'failed', failure: error }, event, 'failed', error);
    }
    case 'SettingsChanged': {
      const { backup, ...rest } = event.data;
      const spec = { ...state.spec, ...rest };
      if (backup === null) delete spec.backup;
      else if (backup) spec.backup = backup;
      return finish(start({ ...state, spec }, event, 'change-settings', 'applying settings'), event, 'succeeded');
    }
    case 'ScaleRequested': {
      const resized = { ...state, spec: { ...state.spec, size: event.data.toSize }, size: event.data.toSize, pendingRestart: true };
      return event.data.applyAt === 'maintenance'
        ? finish(start(resized, event, 'scale', 'restart deferred to the maintenance window'), event, 'succeeded')
        : start(resized, event, 'scale', 'waiting for the cluster to ask for a restart');
    }
    case 'RestartRequested':
      return start(state, event, 'restart', 'restarting');
    case 'RestartStarted':
      return withStep(state, `restarting (${event.data.dbOpsName})`);
    case 'RestartCompleted': {
      const restarted = { ...state, pendingRestart: false };
      return state.runningOperation?.type === 'restart' ? finish(restarted, event, 'succeeded') : restarted;
    }
    case 'ScaleCompleted':
      return finish({ ...state, size: event.data.size }, event, 'succeeded');
    case 'UpgradeRequested':
      return start(state, event, UPGRADE_OPERATION[event.data.kind], `${event.data.kind} upgrade ${event.data.fromVersion} -> ${event.data.toVersion} requested`);
    case 'UpgradeStarted':
      return withStep(state, `upgrading (${event.data.dbOpsName})`);
    case 'UpgradeCompleted': {
      const upgraded =
        event.data.kind === 'security'
          ? { ...state, patchLevel: event.data.patchLevel ?? state.patchLevel + 1 }
          : { ...state, version: event.data.version, spec: { ...state.spec, version: event.data.version } };
      return finish(upgraded, event, 'succeeded');
    }
    case 'UpgradeFailed':
      return finish(state, event, 'failed', { reason: event.data.stackgresReason, message: event.data.message });
    case 'BackupRequested': {
      const record: BackupRecord = {
        name: event.data.backupName,
        purpose: event.data.purpose,
        requestId: event.requestId,
        status: 'running',
        requestedAt: event.at,
      };
      const withBackup = { ...state, backups: [...state.backups, record] };
      if (event.data.purpose === 'on-demand' && !state.runningOperation) return start(withBackup, event, 'backup', `backing up (${record.name})`);
      return withStep(withBackup, `backing up (${record.name})`);
    }
    case 'BackupCompleted':
    case 'FinalBackupTaken': {
      const { backupName, ...result } = event.data;
      const done = updateBackup(state, backupName, { status: 'completed', ...result });
      return isOwnOperation(state, event, 'backup') ? finish(done, event, 'succeeded') : done;
    }
    case 'BackupFailed': {
      const failed = updateBackup(state, event.data.backupName, { status: 'failed', error: event.data.message });
      return isOwnOperation(state, event, 'backup')
        ? finish(failed, event, 'failed', { reason: event.data.stackgresReason, message: event.data.message })
        : failed;
    }
    case 'OperationFailed':
      return finish(state, event, 'failed', { reason: event.data.stackgresReason, message: event.data.message });
    case 'DeprovisionRequested':
      return start({ ...state, phase: 'deprovisioning' }, event, 'deprovision', event.data.finalBackup ? 'taking the final backup' : 'deleting the claim');
    case 'ClaimDeleted':
      return withStep(state, 'claim deleted');
    case 'InstanceDeleted':
      return finish({ ...state, phase: 'deleted', connection: null }, event, 'succeeded');
  }
}

function start(state: InstanceState, event: InstanceEvent, type: OperationType, step: string): InstanceState {
  const running: RunningOperation = { id: event.requestId, type, actor: event.actor, startedAt: event.at, step };
  return { ...state, runningOperation: running };
}

function withStep(state: InstanceState, step: string): InstanceState {
  return state.runningOperation ? { ...state, runningOperation: { ...state.runningOperation, step } } : state;
}

function finish(
  state: InstanceState,
  event: InstanceEvent,
  status: 'succeeded' | 'failed',
  error?: { reason: string; message: string },
): InstanceState {
  const running = state.runningOperation;
  if (!running || running.id !== event.requestId) return state;
  const { step: _step, ...operation } = running;
  // A failed deprovision (say, the final backup failed) leaves the instance serving, not half-deleted.
  const phase = status === 'failed' && state.phase === 'deprovisioning' ? 'ready' : state.phase;
  return {
    ...state,
    phase,
    runningOperation: null,
    lastOperation: { ...operation, status, finishedAt: event.at, ...(error ? { error } : {}) },
  };
}

const isOwnOperation = (state: InstanceState, event: InstanceEvent, type: OperationType): boolean =>
  state.runningOperation?.id === event.requestId && state.runningOperation.type === type;

function updateBackup(state: InstanceState, name: string, change: Partial<BackupRecord>): InstanceState {
  return { ...state, backups: state.backups.map((backup) => (backup.name === name ? { ...backup, ...change } : backup)) };
}
