import type { BackupPolicy, InstanceSpec, MaintenanceWindow } from './schemas.js';
import type { Size } from './sizes.js';

// The instance's event log. Every event is recorded by the workflow (so Temporal's history is
// the source of truth), projected into the read model, and folded by the one reducer.

export type UpgradeKind = 'minor' | 'major' | 'security';
export type BackupPurpose = 'on-demand' | 'pre-upgrade' | 'final' | 'scheduled' | 'maintenance';
export type OperationType =
  | 'provision'
  | 'scale'
  | 'restart'
  | 'minor-upgrade'
  | 'major-upgrade'
  | 'security-upgrade'
  | 'backup'
  | 'delete-backup'
  | 'change-settings'
  | 'maintenance'
  | 'deprovision';

// A record, so that a type added above is a compile error here until it is listed.
const EVERY_OPERATION_TYPE: Record<OperationType, true> = {
  provision: true, scale: true, restart: true, 'minor-upgrade': true, 'major-upgrade': true, 'security-upgrade': true,
  backup: true, 'delete-backup': true, 'change-settings': true, maintenance: true, deprovision: true,
};
/** Every operation type: for what must know them before the first happens (the API's filter, counters exported at zero). */
export const OPERATION_TYPES = Object.keys(EVERY_OPERATION_TYPE) as [OperationType, ...OperationType[]];

export type MaintenanceTrigger = 'schedule' | 'manual';
export type MaintenanceStep = 'backup' | 'upgrade' | 'restart';

/** Where clients connect. The password stays in the Secret: only its name travels. */
export interface Connection {
  host: string;
  port: number;
  database: string;
  user: string;
  secretName: string;
}

/** The spec after defaults are resolved (the maintenance window is always known). */
export type ResolvedSpec = Omit<InstanceSpec, 'maintenanceWindow'> & { maintenanceWindow: MaintenanceWindow };

interface EventData {
  InstanceRequested: { instanceId: string; tenant: string; spec: ResolvedSpec };
  ClaimApplied: { namespace: string; claimName: string; size: Size; version: string };
  /** claimReadyAt: when claimflow saw the claim's Ready condition (for the reaction-time metric). */
  InstanceReady: { version: string; connection: Connection; claimReadyAt?: string };
  ProvisioningFailed: { conditionReason: string; message: string };
  SettingsChanged: {
    maintenanceWindow?: MaintenanceWindow;
    backup?: BackupPolicy | null;
    deletionProtection?: boolean;
    autoMinorUpgrades?: boolean;
  };
  ScaleRequested: { fromSize: Size; toSize: Size; applyAt: 'now' | 'maintenance' };
  RestartRequested: Record<string, never>;
  RestartStarted: { dbOpsName: string };
  RestartCompleted: { dbOpsName: string };
  ScaleCompleted: { size: Size };
  UpgradeRequested: { kind: UpgradeKind; fromVersion: string; toVersion: string };
  UpgradeStarted: { kind: UpgradeKind; dbOpsName: string };
  UpgradeCompleted: { kind: UpgradeKind; dbOpsName: string; version: string; patchLevel?: number };
  UpgradeFailed: { kind: UpgradeKind; dbOpsName?: string; stackgresReason: string; message: string };
  BackupRequested: { backupName: string; purpose: BackupPurpose };
  BackupCompleted: BackupResult & { purpose: BackupPurpose };
  BackupFailed: { backupName: string; purpose: BackupPurpose; stackgresReason: string; message: string };
  OperationFailed: { operation: OperationType; dbOpsName?: string; stackgresReason: string; message: string };
  BackupDeletionRequested: { backupName: string };
  /** retention: the backup policy's (scheduled backups); requested: someone asked (delete-backup). */
  BackupDeleted: { backupName: string; cause: 'retention' | 'requested' };
  MaintenanceWindowOpened: { runId: string; trigger: MaintenanceTrigger; windowEndsAt: string; windowOpensAt?: string };
  MaintenanceStarted: { runId: string; plan: string };
  MaintenanceCompleted: { runId: string; summary: string };
  MaintenanceFailed: { runId: string; step: MaintenanceStep; message: string };
  MaintenanceSkipped: { runId: string; cause: string };
  DeprovisionRequested: { finalBackup: boolean };
  FinalBackupTaken: BackupResult;
  ClaimDeleted: { claimName: string };
  InstanceDeleted: Record<string, never>;
  /**
   * A new workflow took the instance over from the read model's log, Temporal having no history of
   * the one before (ended by hand longer ago than its retention). What that workflow was doing has
   * no outcome anyone saw: it is recorded as abandoned, unless the new workflow goes on with it
   * (`resumedOperation`: see operationToResume), when the cluster's answer ends it as it would
   * have ended before.
   */
  InstanceAdopted: {
    message: string;
    abandonedOperation?: { id: string; type: OperationType };
    resumedOperation?: { id: string; type: OperationType };
  };
}

export interface BackupResult {
  backupName: string;
  sizeBytes: number;
  compressedBytes: number;
  postgresVersion: string;
  completedAt: string;
}

export type EventType = keyof EventData;

export type InstanceEvent = {
  [T in EventType]: {
    /** Position in the instance's log, from 1, without gaps, across continue-as-new. */
    seq: number;
    type: T;
    /** ISO-8601, from the workflow's deterministic clock. */
    at: string;
    /** Who caused it: a user ("tenant:token-name"), "schedule:maintenance" or "claimflow". */
    actor: string;
    /** The command that caused it; also the operation id the API hands out. */
    requestId: string;
    reason?: string;
    data: EventData[T];
  };
}[EventType];

export type EventOf<T extends EventType> = Extract<InstanceEvent, { type: T }>;
/** An event before the workflow stamps its position and time. */
export type NewEvent = { [T in EventType]: Omit<EventOf<T>, 'seq' | 'at'> }[EventType];

export const EVENT_TYPES: readonly EventType[] = [
  'InstanceRequested', 'ClaimApplied', 'InstanceReady', 'ProvisioningFailed', 'SettingsChanged',
  'ScaleRequested', 'RestartRequested', 'RestartStarted', 'RestartCompleted', 'ScaleCompleted',
  'UpgradeRequested', 'UpgradeStarted', 'UpgradeCompleted', 'UpgradeFailed',
  'BackupRequested', 'BackupCompleted', 'BackupFailed', 'BackupDeleted', 'OperationFailed',
  'MaintenanceWindowOpened', 'MaintenanceStarted', 'MaintenanceCompleted', 'MaintenanceFailed', 'MaintenanceSkipped',
  'DeprovisionRequested', 'FinalBackupTaken', 'ClaimDeleted', 'InstanceDeleted', 'InstanceAdopted',
];
