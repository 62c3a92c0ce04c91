import { ApplicationFailure, allHandlersFinished, condition, continueAsNew, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  backupToResume, dbOpsToResume, decide, maintenanceUnfinished, operationToResume, refuseMaintenance, refuseScheduledWork,
  type Command, type CommandEnvelope, type InstanceState, type MaintenanceRequest, type NewEvent, type RunningOperation, type ScheduledBackupRequest,
} from '../../domain/logic.js';
import {
  commandUpdates, instanceWindowKey, maintenanceSlotQuery, maintenanceUpdate, restoreSchedulesUpdate, scheduledBackupUpdate, slotGrantedSignal, stateQuery,
  type CommandAccepted, type InstanceWorkflowInput, type ScheduledWorkResult,
} from '../messages.js';
import { proxies } from './activities.js';
import { InstanceEntity } from './entity.js';
import { ScheduledWork } from './maintenance.js';
import { Operations } from './operations.js';
import { resolveSettings } from './settings.js';
import { domainSchemas } from '../shared-modules.js';

// Adopting runs recorded before an operation could be resumed abandoned every one. Asked by
// adopting runs only, so that no other run records a marker (see patchGenerations).
const RESUME_AFTER_ADOPTION_PATCH = 'resume-after-adoption';
// Adopting runs recorded before an operation waiting for its SGDbOps, or a deprovisioning or major
// upgrade waiting for its own backup, could go on abandoned it. Asked only by adopting runs that find one.
const RESUME_CLUSTER_STEPS_PATCH = 'resume-cluster-steps-after-adoption';
// Adopting runs recorded before a resumed scheduled backup applied retention and told its run
// finished it as an on-demand one. Asked only by adopting runs that resume one.
const SCHEDULED_BACKUP_RUN_PATCH = 'resumed-scheduled-backup-reports';
// Adopting runs recorded before the slot of an abandoned maintenance run was handed back kept it
// from the fleet. Asked only by adopting runs that abandon one.
const ABANDONED_SLOT_PATCH = 'abandoned-maintenance-hands-back-slot';

/**
 * One database instance, from request to deletion. Its history is the instance's event log;
 * commands arrive as Updates whose validators refuse what the instance cannot do right now.
 */
export async function instanceWorkflow(input: InstanceWorkflowInput): Promise<void> {
  const schemas = domainSchemas();
  const settings = resolveSettings(input.settings);
  const activities = proxies(settings);
  const entity = new InstanceEntity(input.carried?.state ?? null, input.carried?.seenRequestIds ?? [], activities);
  const operations = new Operations(entity, activities, settings);
  const scheduled = new ScheduledWork(entity, activities, operations);

  if (!input.carried) {
    entity.markSeen(input.requestId);
    entity.record({
      type: 'InstanceRequested',
      actor: input.actor,
      requestId: input.requestId,
      data: { instanceId: input.instanceId, tenant: input.tenant, spec: input.spec },
    });
  }
  const resumable = input.adoption && patched(RESUME_AFTER_ADOPTION_PATCH) ? operationToResume(entity.known) : null;
  const backup = resumable ? backupToResume(entity.known) : undefined;
  const dbOps = resumable ? dbOpsToResume(entity.known) : undefined;
  const goesOnOnlyNow = dbOps !== undefined || (backup !== undefined && resumable?.type !== 'backup');
  const resumed = goesOnOnlyNow && !patched(RESUME_CLUSTER_STEPS_PATCH) ? null : resumable;
  const maintenanceAbandoned = input.adoption !== undefined && maintenanceUnfinished(entity.known);
  if (input.adoption) {
    entity.markSeen(input.requestId);
    entity.record(adoptedEvent(input, entity.known, resumed));
  }

  setHandler(stateQuery, () => entity.state);

  const run: { [K in Command['kind']]: (envelope: CommandEnvelope & { command: Extract<Command, { kind: K }> }) => Promise<unknown> } = {
    scale: (envelope) => operations.scale(envelope),
    restart: (envelope) => operations.restart(envelope),
    upgrade: (envelope) => {
      const decision = decide(entity.known, envelope.command);
      return operations.upgrade(envelope, decision.ok && decision.upgradeKind === 'major' ? 'major' : 'minor', envelope.command.version);
    },
    'security-upgrade': (envelope) => operations.upgrade(envelope, 'security', entity.known.version ?? entity.known.spec.version),
    backup: (envelope) => operations.onDemandBackup(envelope),
    'delete-backup': (envelope) => operations.deleteBackup(envelope),
    'change-settings': (envelope) => operations.changeSettings(envelope),
    deprovision: (envelope) => operations.deprovision(envelope),
  };

  for (const kind of Object.keys(commandUpdates) as Command['kind'][]) {
    setHandler(
      commandUpdates[kind],
      async (envelope): Promise<CommandAccepted> => {
        if (entity.hasSeen(envelope.requestId)) return { operationId: envelope.requestId, duplicate: true };
        entity.markSeen(envelope.requestId);
        const parsed = schemas.CommandEnvelope.parse(envelope);
        await (run[kind] as (envelope: CommandEnvelope) => Promise<unknown>)(parsed);
        // Steps project ahead while the operation goes on; it is done once the read model has it all.
        await entity.flush();
        return { operationId: envelope.requestId, duplicate: false };
      },
      { validator: (envelope: CommandEnvelope) => validate(kind, envelope) },
    );
  }

  function validate(kind: Command['kind'], envelope: CommandEnvelope): void {
    const parsed = schemas.CommandEnvelope.safeParse(envelope);
    if (!parsed.success) throw ApplicationFailure.nonRetryable(parsed.error.message, 'invalid_command');
    if (parsed.data.command.kind !== kind) throw ApplicationFailure.nonRetryable(`update ${kind} carries a ${parsed.data.command.kind} command`, 'invalid_command');
    if (entity.hasSeen(parsed.data.requestId)) return; // a retry: the handler answers with the first result
    if (!entity.state) throw ApplicationFailure.nonRetryable('the instance is still being created', 'not_ready');
    const decision = decide(entity.state, parsed.data.command);
    if (!decision.ok) throw ApplicationFailure.nonRetryable(decision.message, decision.code);
  }

  // Scheduled work: sent by the Temporal Schedules' runs (and "run maintenance now"), waits for a busy instance.
  setHandler(slotGrantedSignal, (grant) => scheduled.onSlotGranted(grant));
  setHandler(maintenanceSlotQuery, () => scheduled.slotState);
  const scheduledHandler = <T extends { runId: string; report?: boolean | undefined }>(
    schema: { safeParse: (value: unknown) => { success: boolean; error?: { message: string } } },
    work: (request: T) => Promise<ScheduledWorkResult>,
    refuse: (request: T) => string | null,
  ) => ({
    handler: async (request: T): Promise<ScheduledWorkResult> => {
      if (entity.hasSeen(request.runId)) return { runId: request.runId, status: 'duplicate', detail: 'this run was handled before' };
      entity.markSeen(request.runId);
      const result = await work(request);
      await entity.flush();
      // The run workflow (its id is the run id) waits for this report rather than for the Update;
      // a window's run and the API wait for neither.
      if (request.report !== false) await scheduled.reportTo(request.runId, result);
      return result;
    },
    validator: (request: T): void => {
      const parsed = schema.safeParse(request);
      if (!parsed.success) throw ApplicationFailure.nonRetryable(parsed.error?.message ?? 'invalid request', 'invalid_command');
      if (entity.hasSeen(request.runId)) return;
      const refusal = refuse(request);
      if (refusal) throw ApplicationFailure.nonRetryable(refusal, 'not_ready');
    },
  });
  const maintenance = scheduledHandler(
    schemas.MaintenanceRequest,
    (request: MaintenanceRequest) => scheduled.maintain(request),
    (request) => refuseMaintenance(entity.state, request, entity.state ? instanceWindowKey({ spec: entity.state.spec, settings }) : ''),
  );
  setHandler(maintenanceUpdate, maintenance.handler, { validator: maintenance.validator });
  const backups = scheduledHandler(schemas.ScheduledBackupRequest, (request: ScheduledBackupRequest) => scheduled.scheduledBackup(request), () => refuseScheduledWork(entity.state));
  setHandler(scheduledBackupUpdate, backups.handler, { validator: backups.validator });

  // The Schedule keeper found the instance's backup Schedule missing: the instance writes its
  // Schedules again from its own spec, never while an operation of its own is writing them.
  setHandler(restoreSchedulesUpdate, () => operations.restoreSchedules(), {
    validator: (request: { actor: string }): void => {
      if (typeof request?.actor !== 'string') throw ApplicationFailure.nonRetryable('a restore names its actor', 'invalid_command');
      const refusal = refuseScheduledWork(entity.state);
      if (refusal) throw ApplicationFailure.nonRetryable(refusal, 'not_ready');
      if (operations.writingSchedules) throw ApplicationFailure.nonRetryable(`instance ${entity.known.name} is writing its Schedules now`, 'busy');
    },
  });

  if (!input.carried) await operations.provision({ requestId: input.requestId, actor: input.actor });
  if (input.adoption) {
    await entity.flush();
    if (maintenanceAbandoned && patched(ABANDONED_SLOT_PATCH)) await scheduled.handBackAbandonedSlot();
    // The old workflow's operation goes on under its own request; its actor stays the one who asked.
    const asBefore = resumed && { requestId: resumed.id, actor: resumed.actor };
    if (asBefore && resumed.type === 'provision') await operations.provision(asBefore);
    else if (asBefore && resumed.type === 'deprovision' && !backup) await operations.deleteClaimAndSchedules(asBefore);
    else {
      // The Schedules may have gone with the workflow before; they are made again from the spec
      // (a deprovisioning deletes them again once its final backup is taken).
      if (entity.known.phase === 'ready' || entity.known.phase === 'deprovisioning') await operations.restoreSchedules();
      if (asBefore && backup?.purpose === 'scheduled' && patched(SCHEDULED_BACKUP_RUN_PATCH)) await scheduled.finishScheduledBackup(asBefore, backup);
      else if (asBefore && backup) await operations.finishBackupAndGoOn(asBefore, resumed, backup);
      else if (asBefore && dbOps) await operations.finishDbOps(asBefore, resumed, dbOps);
    }
  }

  const historyIsLong = () =>
    workflowInfo().continueAsNewSuggested ||
    (settings.continueAsNewAfterEvents !== undefined && workflowInfo().historyLength >= settings.continueAsNewAfterEvents);

  await condition(() => entity.state?.phase === 'deleted' || (historyIsLong() && entity.idle));
  // Let every accepted command finish (and be projected) before this run ends.
  await condition(allHandlersFinished);
  await entity.flush();
  if (entity.state?.phase === 'deleted') return;
  const { adoption: _adoptedOnce, ...next } = input;
  await continueAsNew<typeof instanceWorkflow>({ ...next, carried: { state: entity.known, seenRequestIds: entity.seenRequestIds } });
}

function adoptedEvent(input: InstanceWorkflowInput, state: InstanceState, resumed: RunningOperation | null): NewEvent {
  const running = state.runningOperation;
  const operation = running && { id: running.id, type: running.type };
  const fate = !running ? '' : resumed
    ? `; ${running.type} ${running.id}, which that workflow was running, goes on: its remaining steps ask the cluster again`
    : `; ${running.type} ${running.id}, which that workflow was running, is recorded as abandoned`;
  return {
    type: 'InstanceAdopted',
    actor: input.actor,
    requestId: input.requestId,
    reason: input.adoption!.reason,
    data: {
      message: `claimflow manages ${state.name} again from its log in the read model (${state.lastSeq} events): Temporal had no history of its workflow${fate}`,
      ...(operation ? (resumed ? { resumedOperation: operation } : { abandonedOperation: operation }) : {}),
    },
  };
}
