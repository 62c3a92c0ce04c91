import {
  lastCompletedBackup, nextMaintenanceAt, type BackupRecord, type InstanceEvent, type InstanceState, type MaintenanceRun, type OperationType,
} from '../domain/index.js';
import type { Backup, EventView, InstanceView, MaintenanceRunView, Operation } from './schemas.js';

// Read-model rows and workflow state as the API shows them.

export function backupView(record: BackupRecord): Backup {
  return {
    name: record.name,
    purpose: record.purpose,
    status: record.status,
    requestId: record.requestId,
    requestedAt: record.requestedAt,
    completedAt: record.completedAt ?? null,
    sizeBytes: record.sizeBytes ?? null,
    compressedBytes: record.compressedBytes ?? null,
    postgresVersion: record.postgresVersion ?? null,
    error: record.error ?? null,
    // The state holds only backups that exist.
    deletedAt: null,
  };
}

export function maintenanceRunView(run: MaintenanceRun): MaintenanceRunView {
  return {
    runId: run.runId,
    trigger: run.trigger,
    status: run.status,
    openedAt: run.openedAt,
    windowEndsAt: run.windowEndsAt,
    startedAt: run.startedAt ?? null,
    finishedAt: run.finishedAt ?? null,
    outcome: run.outcome ?? null,
  };
}

export function instanceView(state: InstanceState, now: Date): InstanceView {
  const { spec } = state;
  const lastBackup = lastCompletedBackup(state);
  return {
    id: state.instanceId,
    name: state.name,
    phase: state.phase,
    version: state.version,
    patchLevel: state.patchLevel ?? 0,
    size: state.size,
    instances: spec.instances,
    pendingRestart: state.pendingRestart,
    maintenanceWindow: spec.maintenanceWindow,
    nextMaintenanceAt: state.phase === 'deleted' ? null : nextMaintenanceAt(spec.maintenanceWindow, now, state.maintenance?.openedAt).toISOString(),
    // States projected before maintenance existed have no such field.
    maintenance: state.maintenance ? maintenanceRunView(state.maintenance) : null,
    backupPolicy: spec.backup ?? null,
    deletionProtection: spec.deletionProtection,
    autoMinorUpgrades: spec.autoMinorUpgrades,
    lastBackup: lastBackup ? backupView(lastBackup) : null,
    runningOperation: state.runningOperation,
    lastOperation: state.lastOperation,
    failure: state.failure,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
}

export function eventView(event: InstanceEvent): EventView {
  return {
    seq: event.seq,
    type: event.type,
    at: event.at,
    actor: event.actor,
    requestId: event.requestId,
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    data: event.data as Record<string, unknown>,
  };
}

/**
 * An operation the workflow knows and the read model does not have yet: "accepted", whatever the
 * workflow says. Only the read model reports an outcome, so a client that sees "succeeded" also
 * sees its effect on the instance (both are written in one transaction).
 */
export function operationFromState(state: InstanceState | null, id: string): Operation | undefined {
  const known = state?.runningOperation?.id === id ? state.runningOperation : state?.lastOperation?.id === id ? state.lastOperation : undefined;
  if (!known) return undefined;
  return { id, type: known.type, status: 'accepted', actor: known.actor, step: null, startedAt: known.startedAt, finishedAt: null, error: null };
}

export function operationTypeIn(state: InstanceState | null, id: string): OperationType | undefined {
  if (!state) return undefined;
  if (state.runningOperation?.id === id) return state.runningOperation.type;
  if (state.lastOperation?.id === id) return state.lastOperation.type;
  return undefined;
}
