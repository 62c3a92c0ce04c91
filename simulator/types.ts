// Shapes of the objects the simulator reads and writes: only the fields it uses (see deploy/crds).
import type { KubernetesObject } from '@kubernetes/client-node';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export type Size = 'small' | 'medium' | 'large';

export interface ClaimSpec {
  parameters: {
    size: Size;
    instances?: number;
    postgres: { version: string };
    backup?: { schedule?: string; retention?: number };
    restore?: { fromBackup: string; pointInTime?: string };
  };
  writeConnectionSecretToRef: { name: string };
}

export interface Claim extends KubernetesObject {
  spec: ClaimSpec;
  status?: { conditions?: Condition[]; clusterName?: string; observedGeneration?: number };
}

export interface ClusterSpec {
  instances: number;
  sgInstanceProfile?: string;
  postgres: { version: string };
  pods: { persistentVolume: { size: string } };
  configurations?: { backups?: { cronSchedule?: string; retention?: number; sgObjectStorage: string }[] };
  initialData?: {
    restore?: { fromBackup?: { name?: string; pointInTimeRecovery?: { restoreToTimestamp?: string } } };
  };
}

export interface Cluster extends KubernetesObject {
  spec: ClusterSpec;
  status?: { conditions?: Condition[]; securityUpgrade?: { patchLevel?: number; appliedAt?: string } };
}

export type DbOpsKind =
  | 'restart'
  | 'securityUpgrade'
  | 'minorVersionUpgrade'
  | 'majorVersionUpgrade'
  | 'vacuum'
  | 'repack'
  | 'benchmark';

export interface VersionUpgradeStatus {
  sourcePostgresVersion?: string;
  targetPostgresVersion?: string;
  phase?: string;
  failure?: string;
}

export interface DbOpsStatus {
  conditions?: Condition[];
  opStarted?: string;
  opRetries?: number;
  restart?: { pendingInstances?: string[]; restartedInstances?: string[]; failure?: string };
  securityUpgrade?: { failure?: string };
  minorVersionUpgrade?: VersionUpgradeStatus;
  majorVersionUpgrade?: VersionUpgradeStatus;
}

export interface DbOps extends KubernetesObject {
  spec: {
    sgCluster: string;
    op: DbOpsKind;
    runAt?: string;
    timeout?: string;
    maxRetries?: number;
    minorVersionUpgrade?: { postgresVersion?: string };
    majorVersionUpgrade?: { postgresVersion?: string };
  };
  status?: DbOpsStatus;
}

export type BackupPhase = 'Pending' | 'Running' | 'Completed' | 'Failed';

export interface BackupStatus {
  backupPath?: string;
  process?: {
    status?: BackupPhase;
    failure?: string;
    jobPod?: string;
    timing?: { start?: string; end?: string; stored?: string };
  };
  backupInformation?: {
    postgresVersion?: string;
    startWalFile?: string;
    size?: { uncompressed?: number; compressed?: number };
  };
  sgBackupConfig?: Record<string, unknown>;
}

export interface Backup extends KubernetesObject {
  spec: { sgCluster: string; managedLifecycle?: boolean; timeout?: number; maxRetries?: number };
  status?: BackupStatus;
}
