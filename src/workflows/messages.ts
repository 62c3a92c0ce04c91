import { SearchAttributeType, defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { maintenanceWindowKey, type Command, type CommandEnvelope, type InstanceState, type MaintenanceRequest, type Phase, type ResolvedSpec, type ScheduledBackupRequest } from '../domain/logic.js';

// Message definitions shared by the workflow and its clients (the API, tests, scripts).

export const TASK_QUEUE_DEFAULT = 'claimflow';
export const INSTANCE_WORKFLOW_TYPE = 'instanceWorkflow';

export const TENANT_ATTRIBUTE = defineSearchAttributeKey('ClaimflowTenant', SearchAttributeType.KEYWORD);
export const INSTANCE_ATTRIBUTE = defineSearchAttributeKey('ClaimflowInstance', SearchAttributeType.KEYWORD);
export const PHASE_ATTRIBUTE = defineSearchAttributeKey('ClaimflowPhase', SearchAttributeType.KEYWORD);

/** The instance's maintenance window (maintenanceWindowKey): how its window's run finds it. */
export const MAINTENANCE_WINDOW_ATTRIBUTE = defineSearchAttributeKey('ClaimflowMaintenanceWindow', SearchAttributeType.KEYWORD);

/** The window an instance's workflow answers to, from its spec and settings. */
export const instanceWindowKey = (input: { spec: Pick<ResolvedSpec, 'maintenanceWindow'>; settings?: Partial<LifecycleSettings> | undefined }): string =>
  maintenanceWindowKey(input.spec.maintenanceWindow, input.settings?.maintenanceWindowMs);

/** What an instance's workflow starts with (a new instance is provisioning); the workflow upserts the phase only when it changes. */
export const initialInstanceSearchAttributes = (
  input: Pick<InstanceWorkflowInput, 'tenant' | 'spec' | 'settings'>,
  phase: Phase = 'provisioning',
): SearchAttributePair[] => [
  { key: TENANT_ATTRIBUTE, value: input.tenant },
  { key: INSTANCE_ATTRIBUTE, value: input.spec.name },
  { key: PHASE_ATTRIBUTE, value: phase },
  { key: MAINTENANCE_WINDOW_ATTRIBUTE, value: instanceWindowKey(input) },
];

/** Durations the workflow waits for the cluster; injectable so tests run in seconds. */
export interface LifecycleSettings {
  provisionTimeoutMs: number;
  pendingRestartTimeoutMs: number;
  operationTimeoutMs: number;
  backupTimeoutMs: number;
  deleteTimeoutMs: number;
  heartbeatTimeoutMs: number;
  /** Continue-as-new after this many history events even if Temporal has not suggested it yet. */
  continueAsNewAfterEvents?: number;
  /** Length of a maintenance window, overriding the window's durationMinutes (tests use seconds). */
  maintenanceWindowMs?: number;
}

export interface CarriedState {
  state: InstanceState;
  /** Request ids already handled, so a retried command stays a no-op across runs (the newest SEEN_REQUEST_IDS_KEPT). */
  seenRequestIds: string[];
}

/** How many handled request ids an instance keeps (and carries) to answer retries. */
export const SEEN_REQUEST_IDS_KEPT = 1000;

export interface InstanceWorkflowInput {
  tenant: string;
  instanceId: string;
  spec: ResolvedSpec;
  requestId: string;
  actor: string;
  settings?: Partial<LifecycleSettings>;
  /** Present when this run continues an earlier one. */
  carried?: CarriedState;
  /**
   * Present when this run takes over an instance whose earlier workflow Temporal no longer has:
   * `carried` is then the read model's log folded, and the run records InstanceAdopted first.
   */
  adoption?: { reason: string };
}

export interface CommandAccepted {
  operationId: string;
  /** True when this request id was handled before: nothing was done again. */
  duplicate: boolean;
}

type CommandUpdate = ReturnType<typeof defineUpdate<CommandAccepted, [CommandEnvelope]>>;

export const commandUpdates: Record<Command['kind'], CommandUpdate> = {
  scale: defineUpdate('scale'),
  restart: defineUpdate('restart'),
  upgrade: defineUpdate('upgrade'),
  'security-upgrade': defineUpdate('security-upgrade'),
  backup: defineUpdate('backup'),
  'delete-backup': defineUpdate('delete-backup'),
  'change-settings': defineUpdate('change-settings'),
  deprovision: defineUpdate('deprovision'),
};

export const stateQuery = defineQuery<InstanceState | null>('state');

// Scheduled work, sent by the schedule-started workflows through an activity.
export interface ScheduledWorkResult {
  runId: string;
  status: 'completed' | 'failed' | 'skipped' | 'duplicate';
  detail: string;
}
export const maintenanceUpdate = defineUpdate<ScheduledWorkResult, [MaintenanceRequest]>('maintenance');
export const scheduledBackupUpdate = defineUpdate<ScheduledWorkResult, [ScheduledBackupRequest]>('scheduled-backup');
/** The instance reports the outcome to the run workflow (whose id is the run id) when the work ends. */
export const scheduledWorkFinishedSignal = defineSignal<[ScheduledWorkResult]>('scheduledWorkFinished');

/** The fleet's maintenance coordinator: a semaphore that caps concurrent maintenance runs. */
export const FLEET_WORKFLOW_ID = 'maintenance-fleet';
export interface FleetStatus {
  maxConcurrent: number;
  paused: boolean;
  /** Workflow ids of the instances in maintenance now. */
  running: string[];
  /** Workflow ids of the instances waiting for a slot, first come first served. */
  waiting: string[];
}
export type FleetInput = Omit<FleetStatus, 'running' | 'waiting'> & Partial<Pick<FleetStatus, 'running' | 'waiting'>>;
/** Many requesters in one signal: each worker batches its requests (see `SignalBatcher`). */
export const requestSlotsSignal = defineSignal<[{ requesters: string[] }]>('requestSlots');
export const releaseSlotsSignal = defineSignal<[{ requesters: string[] }]>('releaseSlots');
/** One requester per signal: sent by workers before batching, and by older histories' instances. */
export const requestSlotSignal = defineSignal<[{ requester: string }]>('requestSlot');
export const releaseSlotSignal = defineSignal<[{ requester: string }]>('releaseSlot');
/** Names the coordinator (absent from older grants); runs recorded with `slot-release-by-signal` signal it back. */
export interface SlotGrant {
  fleetWorkflowId: string;
}
export const slotGrantedSignal = defineSignal<[SlotGrant?]>('maintenanceSlotGranted');
/**
 * Counts instances as holders again: sent before a reset of a workflow whose ended run held a
 * slot, which the Schedule keeper may have handed back meanwhile (`npm run instance:resume`).
 */
export const holdSlotsSignal = defineSignal<[{ requesters: string[] }]>('holdSlots');
/** Where an instance's maintenance run stands with the fleet, asked of an ended run before its reset. */
export interface MaintenanceSlotState {
  slot: 'none' | 'waiting' | 'granted';
  /** The coordinator that granted it; absent before a grant, and for grants from older coordinators. */
  fleetWorkflowId?: string;
}
export const maintenanceSlotQuery = defineQuery<MaintenanceSlotState>('maintenanceSlot');
export const configureFleetUpdate = defineUpdate<FleetStatus, [{ maxConcurrent?: number; paused?: boolean }]>('configure');
export const fleetStatusQuery = defineQuery<FleetStatus>('status');

/** An instance's own maintenance Schedule: made before windows had theirs; retired as each instance moves. */
export const maintenanceScheduleId = (tenant: string, name: string) => `maintenance/${tenant}/${name}`;
export const backupScheduleId = (tenant: string, name: string) => `backup/${tenant}/${name}`;
/** One Schedule per maintenance window of the instances on a task queue. */
export const windowScheduleId = (instanceTaskQueue: string, window: string) => `maintenance-window/${instanceTaskQueue}/${window}`;

/** The Schedule of the keeper, which has the missing window and backup Schedules of a task queue's instances made again. */
export const scheduleKeeperId = (instanceTaskQueue: string) => `schedule-keeper/${instanceTaskQueue}`;

export interface ScheduleKeeperInput {
  /** The task queue of the instances' workflows (one deployment's). */
  instanceTaskQueue: string;
}

/** What a keeper's run found: how many window Schedules there are now, which it made again, and the instances nothing maintains. */
export interface ScheduleKeeperResult {
  windowSchedules: number;
  restored: string[];
  /** Keys no window can be made from (an instance's attribute set by hand): left as they are. */
  unreadable: string[];
  /** Instances (tenant/name) whose backup Schedule was missing and which made it again. */
  restoredBackups: string[];
  /** Instances whose backup Schedule was missing but which did not make it now, with why (the first 20). */
  backupsLeft: { instance: string; reason: string }[];
  /** Instances not deleted whose workflow ended outside claimflow: nothing maintains them. */
  unmanagedCount: number;
  /** The first 20 of them. */
  unmanaged: UnmanagedInstance[];
  /** Workflows (ids) whose maintenance slot the fleet still counted though they no longer run: handed back. */
  slotsReleased: string[];
}

/** An instance not deleted whose workflow is not running: how its run ended, and when. */
export interface UnmanagedInstance {
  /** tenant/name */
  instance: string;
  /** Temporal's status of the ended run (TERMINATED, CANCELLED, ...), or GONE once Temporal keeps no history of it. */
  status: string;
  closedAt?: string;
}

/**
 * Sent by the Schedule keeper to an instance whose backup Schedule is missing: the instance writes
 * its Schedules again from its own spec, which the read model the keeper looked at may lag.
 */
export const restoreSchedulesUpdate = defineUpdate<{ backupSchedule: boolean }, [{ actor: string }]>('restore-schedules');

/** What a window's run needs to find its instances. */
export interface MaintenanceWindowRunInput {
  /** maintenanceWindowKey of the window. */
  window: string;
  /** The task queue of the instances' workflows (one deployment's). */
  instanceTaskQueue: string;
  windowMs: number;
}

/** What a window's run did: the instances it found and how each answered. */
export interface MaintenanceWindowRunResult {
  window: string;
  found: number;
  handedOver: number;
  /** The instances that refused (not ready, already maintained in this window) or are gone, with why; the first 20. */
  refused: { workflowId: string; reason: string }[];
  refusedCount: number;
}

/** What a schedule-started workflow needs to reach its instance. */
export interface ScheduledRunInput {
  instanceWorkflowId: string;
  tenant: string;
  name: string;
  /** How long the maintenance window (or the wait for a busy instance) lasts. */
  windowMs: number;
  trigger: 'schedule' | 'manual';
}
