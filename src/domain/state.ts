import type { BackupPurpose, Connection, OperationType, ResolvedSpec } from './events.js';
import type { Size } from './sizes.js';

export type Phase = 'provisioning' | 'ready' | 'failed' | 'deprovisioning' | 'deleted';

export interface RunningOperation {
  id: string;
  type: OperationType;
  actor: string;
  startedAt: string;
  /** What it is doing now, in words a person reads on the instance page. */
  step: string;
  /** The SGDbOps it waits for now: a workflow taking the instance over awaits it again by this name. */
  dbOpsName?: string;
  /** An upgrade's target version, as requested (what its SGDbOps is created with). */
  toVersion?: string;
}

export interface FinishedOperation extends Omit<RunningOperation, 'step' | 'dbOpsName' | 'toVersion'> {
  status: 'succeeded' | 'failed';
  finishedAt: string;
  error?: { reason: string; message: string };
}

export interface BackupRecord {
  name: string;
  purpose: BackupPurpose;
  requestId: string;
  status: 'running' | 'completed' | 'failed';
  requestedAt: string;
  completedAt?: string;
  sizeBytes?: number;
  compressedBytes?: number;
  postgresVersion?: string;
  error?: string;
}

export interface MaintenanceRun {
  runId: string;
  trigger: 'schedule' | 'manual';
  status: 'waiting' | 'running' | 'completed' | 'failed' | 'skipped';
  openedAt: string;
  windowEndsAt: string;
  /** The Schedule's time for the window (absent for manual runs and older records). */
  windowOpensAt?: string;
  startedAt?: string;
  finishedAt?: string;
  /** What it did, or why it failed or was skipped. */
  outcome?: string;
}

export interface InstanceState {
  instanceId: string;
  tenant: string;
  name: string;
  phase: Phase;
  spec: ResolvedSpec;
  /** The version the cluster runs (null until it is ready). */
  version: string | null;
  /** Security patches applied since provisioning. */
  patchLevel: number;
  size: Size;
  /** A sizing change is on the claim but the cluster has not restarted to apply it yet. */
  pendingRestart: boolean;
  claim: { namespace: string; name: string } | null;
  connection: Connection | null;
  runningOperation: RunningOperation | null;
  lastOperation: FinishedOperation | null;
  /** Backups that exist, newest last. Bounded by retention and by deletion. */
  backups: BackupRecord[];
  failure: { reason: string; message: string } | null;
  /** The latest maintenance run (waiting, running or finished). */
  maintenance: MaintenanceRun | null;
  createdAt: string;
  updatedAt: string;
  lastSeq: number;
}

/** The newest backup that completed: what the API shows as lastBackup and the read model as last_backup_at. */
export const lastCompletedBackup = (state: InstanceState): BackupRecord | undefined =>
  state.backups.filter((backup) => backup.status === 'completed').at(-1);
