import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Connection } from '../../domain/events.js';
import { isStatus, readOrUndefined, serverSideApply, statusMessage, type KubeClients } from './client.js';
import {
  CLAIM, SGBACKUP, SGCLUSTER, SGDBOPS,
  buildBackup, buildClaim, buildDbOps, conditionOf, isTrue, madeByOperation, operationNamedBy,
  type ClaimParameters, type CustomObject, type DbOpsSpec, type InstanceRef, type Kind,
} from './resources.js';
import { watchUntil } from './watch-until.js';

// Activities of the Kubernetes port. Every wait is a watch with heartbeats and an absolute
// deadline; every create is idempotent by name, so a retry after a crash adopts what exists.

export type ClaimReadiness =
  | { ready: true; connection: Connection; readyAt: string }
  | { ready: false; reason: string; message: string };

export type OperationOutcome =
  | { status: 'completed'; version: string; patchLevel: number }
  | { status: 'failed'; reason: string; message: string };

export type BackupOutcome =
  | { status: 'completed'; sizeBytes: number; compressedBytes: number; postgresVersion: string; completedAt: string }
  | { status: 'failed'; reason: string; message: string };

interface Deadline {
  /** Epoch milliseconds, computed by the workflow so a retried activity keeps the same limit. */
  deadline: number;
}

interface CreateDbOpsInput { ref: InstanceRef; name: string; cluster: string; spec: DbOpsSpec; operationId: string; timeout: string }
interface CreateBackupInput { ref: InstanceRef; name: string; cluster: string; operationId: string; managedLifecycle: boolean }

const header = (resource: { apiVersion: string; kind: string }, namespace: string, name: string): CustomObject => ({
  apiVersion: resource.apiVersion,
  kind: resource.kind,
  metadata: { name, namespace },
});

/**
 * A create the API server refuses as invalid is refused again on every retry: the step fails now,
 * in the server's words, rather than when its deadline has passed.
 */
async function refusedAsFailure<T>(what: string, run: () => Promise<T>): Promise<T | { status: 'failed'; reason: string; message: string }> {
  try {
    return await run();
  } catch (error) {
    if (!isStatus(error, 422) && !isStatus(error, 400)) throw error;
    return { status: 'failed', reason: 'ObjectRefused', message: `the Kubernetes API server refused ${what}: ${statusMessage(error)}` };
  }
}

function activityContext(): { signal?: AbortSignal; heartbeat: (detail: string) => void } {
  try {
    const context = Context.current();
    return { signal: context.cancellationSignal, heartbeat: (detail) => context.heartbeat(detail) };
  } catch {
    return { heartbeat: () => undefined }; // called outside an activity (tests of the adapter)
  }
}

export function createKubernetesActivities(clients: KubeClients) {
  async function ensureNamespace(namespace: string): Promise<void> {
    try {
      await clients.core.createNamespace({ body: { metadata: { name: namespace, labels: { 'claimflow.io/managed': 'true' } } } });
    } catch (error) {
      if (!isStatus(error, 409)) throw error;
    }
  }

  /**
   * Applies into the tenant's namespace, making the namespace only when the API server says it is
   * missing (a tenant's first instance). Asking to create it before every apply cost a refused
   * create, an etcd transaction of its own, per apply (BENCHMARKS.md).
   */
  async function applyInTenantNamespace(object: CustomObject, namespace: string): Promise<CustomObject> {
    try {
      return await serverSideApply(clients, object);
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      await ensureNamespace(namespace);
      return serverSideApply(clients, object);
    }
  }

  type Test<T> = (object: CustomObject | undefined) => T | undefined;
  type FirstLook = () => Promise<CustomObject | undefined>;

  async function wait<T>(resource: Kind, namespace: string, name: string, deadline: number, test: Test<T>, first?: FirstLook) {
    const { signal, heartbeat } = activityContext();
    return watchUntil({
      collection: clients.watches.forObject(resource, namespace, name),
      namespace,
      name,
      read: () => readOrUndefined(clients, header(resource, namespace, name)),
      ...(first ? { first } : {}),
      test,
      deadline,
      heartbeat,
      ...(signal ? { signal } : {}),
    });
  }

  /**
   * Creates an object, or adopts the one a previous attempt of this same operation created;
   * returns it as the API server answered.
   */
  async function createOnce(object: CustomObject, operationId: string): Promise<CustomObject> {
    try {
      return await clients.objects.create(object, undefined, undefined, 'claimflow');
    } catch (error) {
      if (!isStatus(error, 409)) throw error;
      const existing = await readOrUndefined(clients, object);
      const owner = existing && operationNamedBy(existing);
      if (!existing || !madeByOperation(existing, operationId)) {
        throw ApplicationFailure.nonRetryable(
          `${object.kind} ${object.metadata?.name} already exists for another operation (${owner ?? 'unknown'}), not ${operationId}`,
          'ObjectNameConflict',
        );
      }
      return existing;
    }
  }

  async function readConnection(namespace: string, claim: CustomObject): Promise<Connection> {
    const secretName = (claim.spec?.writeConnectionSecretToRef as { name: string }).name;
    const secret = await clients.core.readNamespacedSecret({ name: secretName, namespace });
    const field = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
    // The password stays in the Secret; only where to find it leaves this function.
    return { host: field('host'), port: Number(field('port') || 5432), database: field('database'), user: field('username'), secretName };
  }

  /** This operation's SGDbOps, created or adopted, as the API server answered. */
  const createDbOpsObject = (input: CreateDbOpsInput): Promise<CustomObject> =>
    createOnce(buildDbOps(input.ref, input.name, input.cluster, input.spec, input.operationId, input.timeout), input.operationId);

  async function waitForDbOps(input: { namespace: string; name: string; cluster: string } & Deadline, first?: FirstLook): Promise<OperationOutcome> {
    const result = await wait(SGDBOPS, input.namespace, input.name, input.deadline, (dbops) => {
      if (isTrue(dbops, 'Completed')) return { status: 'completed' as const };
      const failed = conditionOf(dbops, 'Failed');
      if (failed?.status === 'True') return { status: 'failed' as const, reason: failed.reason ?? 'OperationFailed', message: failed.message ?? 'the operation failed' };
      return undefined;
    }, first);
    if (!result.done) {
      return { status: 'failed', reason: 'OperationTimedOut', message: `SGDbOps ${input.name} did not finish before claimflow's deadline` };
    }
    if (result.value.status === 'failed') return result.value;
    const cluster = await readOrUndefined(clients, header(SGCLUSTER, input.namespace, input.cluster));
    const spec = cluster?.spec as { postgres?: { version?: string } } | undefined;
    const security = cluster?.status?.securityUpgrade as { patchLevel?: number } | undefined;
    return { status: 'completed', version: spec?.postgres?.version ?? '', patchLevel: security?.patchLevel ?? 0 };
  }

  /** This operation's SGBackup, created or adopted, as the API server answered. */
  const createBackupObject = (input: CreateBackupInput): Promise<CustomObject> =>
    createOnce(buildBackup(input.ref, input.name, input.cluster, input.operationId, input.managedLifecycle), input.operationId);

  async function waitForBackup(input: { namespace: string; name: string } & Deadline, first?: FirstLook): Promise<BackupOutcome> {
    type Process = { status?: string; failure?: string; timing?: { end?: string; stored?: string } };
    type Info = { size?: { uncompressed?: number; compressed?: number }; postgresVersion?: string };
    const result = await wait(SGBACKUP, input.namespace, input.name, input.deadline, (backup) => {
      const process = backup?.status?.process as Process | undefined;
      if (process?.status === 'Completed' || process?.status === 'Failed') return { backup: backup!, process };
      return undefined;
    }, first);
    if (!result.done) return { status: 'failed', reason: 'BackupTimedOut', message: `SGBackup ${input.name} did not finish before claimflow's deadline` };
    const { backup, process } = result.value;
    if (process.status === 'Failed') return { status: 'failed', reason: 'BackupFailed', message: process.failure ?? 'the backup failed' };
    const info = (backup.status?.backupInformation ?? {}) as Info;
    return {
      status: 'completed',
      sizeBytes: info.size?.uncompressed ?? 0,
      compressedBytes: info.size?.compressed ?? 0,
      postgresVersion: info.postgresVersion ?? '',
      completedAt: process.timing?.stored ?? process.timing?.end ?? new Date().toISOString(),
    };
  }

  return {
    async applyClaim(input: { ref: InstanceRef; parameters: ClaimParameters }): Promise<{ generation: number }> {
      const applied = await applyInTenantNamespace(buildClaim(input.ref, input.parameters), input.ref.namespace);
      return { generation: applied.metadata?.generation ?? 0 };
    },

    async waitForClaimReady(input: { namespace: string; name: string } & Deadline): Promise<ClaimReadiness> {
      const result = await wait(CLAIM, input.namespace, input.name, input.deadline, (claim) => (isTrue(claim, 'Ready') ? claim : undefined));
      if (result.done) {
        const readyAt = new Date().toISOString();
        return { ready: true, connection: await readConnection(input.namespace, result.value), readyAt };
      }
      const ready = conditionOf(result.last, 'Ready');
      return {
        ready: false,
        reason: ready?.reason ?? (result.last ? 'NotReady' : 'ClaimMissing'),
        message: `claim ${input.name} not ready before the provisioning timeout: ${ready?.message ?? ready?.reason ?? 'no Ready condition reported'}`,
      };
    },

    async waitForPendingRestart(input: { namespace: string; cluster: string } & Deadline): Promise<{ pendingRestart: boolean }> {
      const result = await wait(SGCLUSTER, input.namespace, input.cluster, input.deadline, (cluster) => (isTrue(cluster, 'PendingRestart') ? true : undefined));
      return { pendingRestart: result.done };
    },

    // As activities, the creates answer nothing (the object stays out of the history) and the waits
    // take their input only: the first look is runDbOps' and runBackup's.
    async createDbOps(input: CreateDbOpsInput): Promise<void> {
      await createDbOpsObject(input);
    },
    waitForDbOps: (input: Parameters<typeof waitForDbOps>[0]) => waitForDbOps(input),

    /**
     * Creates the SGDbOps (or adopts this operation's) and waits for it to finish: one activity
     * where two cost the server a task and three events more (a retry adopts and waits again).
     * The create comes once the watch is open, and its answer is the first look: no read back.
     */
    async runDbOps(input: CreateDbOpsInput & Deadline): Promise<OperationOutcome> {
      const where = { namespace: input.ref.namespace, name: input.name, cluster: input.cluster, deadline: input.deadline };
      return refusedAsFailure(`SGDbOps ${input.name}`, () => waitForDbOps(where, () => createDbOpsObject(input)));
    },

    async createBackup(input: CreateBackupInput): Promise<void> {
      await createBackupObject(input);
    },
    waitForBackup: (input: Parameters<typeof waitForBackup>[0]) => waitForBackup(input),

    /** Creates the SGBackup (or adopts this operation's) and waits for it to finish, as runDbOps. */
    async runBackup(input: CreateBackupInput & Deadline): Promise<BackupOutcome> {
      return refusedAsFailure(`SGBackup ${input.name}`, () => waitForBackup({ namespace: input.ref.namespace, name: input.name, deadline: input.deadline }, () => createBackupObject(input)));
    },

    async deleteBackup(input: { namespace: string; name: string }): Promise<void> {
      try {
        await clients.objects.delete(header(SGBACKUP, input.namespace, input.name));
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
    },

    async deleteClaim(input: { namespace: string; name: string }): Promise<void> {
      try {
        await clients.objects.delete(header(CLAIM, input.namespace, input.name));
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
    },

    async waitForClaimGone(input: { namespace: string; name: string } & Deadline): Promise<{ gone: boolean }> {
      const result = await wait(CLAIM, input.namespace, input.name, input.deadline, (claim) => (claim === undefined ? true : undefined));
      return { gone: result.done };
    },
  };
}

export type KubernetesActivities = ReturnType<typeof createKubernetesActivities>;
