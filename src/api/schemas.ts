import { z } from 'zod';
import {
  BackupName, ChangeSettingsCommand, OPERATION_TYPES, InstanceName, InstanceSpec, MaintenanceWindow, BackupPolicy, ScaleCommand, SizeName, Subscription, TOPIC_NAMES,
  UpgradeCommand, type BackupPurpose, type MaintenanceRun, type Phase,
} from '../domain/index.js';

// The HTTP shapes. Request bodies are built from the domain's schemas (strict: unknown fields are
// a 400), so the API and the workflow validate a field the same way. Responses are described for
// the OpenAPI document and checked on the way out.

// Written as records so that a value the domain adds is a compile error here until it is listed.
const keysOf = <K extends string>(record: Record<K, true>) => Object.keys(record) as [K, ...K[]];
export const PHASES = keysOf<Phase>({ provisioning: true, ready: true, failed: true, deprovisioning: true, deleted: true });
const BACKUP_PURPOSES = keysOf<BackupPurpose>({ 'on-demand': true, 'pre-upgrade': true, final: true, scheduled: true, maintenance: true });
export const MAINTENANCE_STATUSES = keysOf<MaintenanceRun['status']>({ waiting: true, running: true, completed: true, failed: true, skipped: true });
const MAINTENANCE_TRIGGERS = keysOf<MaintenanceRun['trigger']>({ schedule: true, manual: true });

const Reason = z.string().max(500).describe('Why; recorded with the events this command causes');

// ---- requests -------------------------------------------------------------------------------

export const NameParams = z.strictObject({ name: InstanceName });
/** Ids are printable ASCII (they end up in SQL parameters and URLs). */
export const PrintableId = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
export const OperationParams = z.strictObject({ name: InstanceName, id: PrintableId });

export const CreateInstanceBody = InstanceSpec;

export const PatchInstanceBody = z
  .strictObject({
    size: ScaleCommand.shape.size.optional(),
    applyAt: z.enum(['now', 'maintenance']).optional().describe('With size: restart now (default) or in the next maintenance window'),
    maintenanceWindow: ChangeSettingsCommand.shape.maintenanceWindow,
    backup: ChangeSettingsCommand.shape.backup.describe('The backup policy; null removes it'),
    deletionProtection: ChangeSettingsCommand.shape.deletionProtection,
    autoMinorUpgrades: ChangeSettingsCommand.shape.autoMinorUpgrades,
    reason: Reason.optional(),
  })
  .superRefine((body, ctx) => {
    const settings = (['maintenanceWindow', 'backup', 'deletionProtection', 'autoMinorUpgrades'] as const).filter((key) => body[key] !== undefined);
    if (body.size === undefined && settings.length === 0) {
      ctx.addIssue({ code: 'custom', path: [], message: 'nothing to change: give size or at least one setting' });
    }
    if (body.applyAt !== undefined && body.size === undefined) {
      ctx.addIssue({ code: 'custom', path: ['applyAt'], message: 'applyAt only goes with size' });
    }
    if (body.size !== undefined && settings.length > 0) {
      for (const key of settings) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'a resize cannot be combined with settings: send size and the settings in two requests' });
      }
    }
  })
  .describe('Either a resize ({size, applyAt?}) or a change of settings, not both in one request');

export const UpgradeBody = z
  .strictObject({
    type: z.enum(['version', 'security']).optional().describe('"security" applies the latest security patches without changing the version'),
    version: UpgradeCommand.shape.version.max(50).optional().describe('Target version; minor or major is decided from the catalog'),
    reason: Reason.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.type === 'security' && body.version !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['version'], message: 'a security upgrade keeps the version: leave version out' });
    }
    if (body.type !== 'security' && body.version === undefined) {
      ctx.addIssue({ code: 'custom', path: ['version'], message: 'required (or send {"type": "security"})' });
    }
  });

export const ReasonBody = z.strictObject({ reason: Reason.optional() }).nullish().describe('Optional');

const booleanString = z.enum(['true', 'false']).transform((value) => value === 'true');

export const DeleteQuery = z.strictObject({
  finalBackup: booleanString.optional().describe('false skips the final backup (default true)'),
  reason: Reason.optional(),
});

export const BackupParams = z.strictObject({ name: InstanceName, backup: BackupName });
export const ReasonQuery = z.strictObject({ reason: Reason.optional() });
export const BackupsQuery = z.strictObject({
  deleted: booleanString.optional().describe('true: also the backups that were deleted (by retention or on request), with deletedAt'),
});

export const LIST_LIMIT_MAX = 100;
const CursorParam = z.string().max(500).regex(/^[A-Za-z0-9_-]+$/, 'not a cursor this API returned').optional().describe('nextCursor of the previous page');
export const ListQuery = z.strictObject({
  phase: z.enum(PHASES).optional().describe('Deleted instances are listed only when asked for with phase=deleted'),
  size: SizeName.optional(),
  version: z.string().max(20).regex(/^\d+\.\d+$/, 'must be a version like 15.13').optional(),
  cursor: CursorParam,
  limit: z.coerce.number().int().min(1).max(LIST_LIMIT_MAX).default(20),
});

export const EVENTS_LIMIT_MAX = 1000;
/** Sequence numbers are PostgreSQL integers. */
const SEQ_MAX = 2_147_483_647;
export const EventsQuery = z.strictObject({
  after: z.coerce.number().int().min(0).max(SEQ_MAX).optional().describe('Only events with a greater seq'),
  limit: z.coerce.number().int().min(1).max(EVENTS_LIMIT_MAX).default(EVENTS_LIMIT_MAX),
  follow: booleanString.optional().describe('true: stream the events as server-sent events, then new ones as they happen'),
});

export const StateQuery = z.strictObject({
  at: z.iso.datetime({ offset: true }).describe('ISO-8601 time: the state as of then, folded from the events up to it'),
});

export const IdempotencyKeyHeader = PrintableId;

/** For commands that take no input: nothing, null or {}. */
export const EmptyBody = z.strictObject({}).nullish().describe('Optional; nothing to send');

export const FLEET_MAX_CONCURRENT_MAX = 10_000;
export const PatchFleetBody = z
  .strictObject({
    maxConcurrent: z.number().int().min(1).max(FLEET_MAX_CONCURRENT_MAX).optional().describe('How many instances may be in maintenance at once, fleet-wide'),
    paused: z.boolean().optional().describe('true: no new maintenance run starts (waiting runs wait, or are skipped when their window closes)'),
  })
  .refine((body) => body.maxConcurrent !== undefined || body.paused !== undefined, { message: 'nothing to change: give maxConcurrent or paused' });

export const MaintenanceRunsQuery = z.strictObject({
  instance: InstanceName.optional().describe('Only this instance (by name)'),
  status: z.enum(MAINTENANCE_STATUSES).optional().describe('Only runs in this status'),
  cursor: CursorParam,
  limit: z.coerce.number().int().min(1).max(LIST_LIMIT_MAX).default(20).describe('Page size of the runs, and how many upcoming windows are listed'),
});

export const OperationsQuery = z.strictObject({
  status: z.enum(['running', 'succeeded', 'failed']).optional().describe('Only operations in this status'),
  type: z.enum(OPERATION_TYPES).optional().describe('Only operations of this type'),
  cursor: CursorParam,
  limit: z.coerce.number().int().min(1).max(LIST_LIMIT_MAX).default(20),
});

export const CreateSubscriptionBody = Subscription;
export const SubscriptionParams = z.strictObject({ id: PrintableId });

export const DELIVERIES_LIMIT_MAX = 500;
export const DeliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(DELIVERIES_LIMIT_MAX).default(50),
});

// ---- responses ------------------------------------------------------------------------------

const Timestamp = z.string().describe('ISO-8601');

const maintenanceRunShape = {
  runId: z.string(),
  trigger: z.enum(MAINTENANCE_TRIGGERS),
  status: z.enum(MAINTENANCE_STATUSES),
  openedAt: Timestamp,
  windowEndsAt: Timestamp,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
  outcome: z.string().nullable().describe('What it did, or why it failed or was skipped'),
};
export const MaintenanceRunView = z.object(maintenanceRunShape).meta({ id: 'MaintenanceRun' });
export type MaintenanceRunView = z.infer<typeof MaintenanceRunView>;

export const OperationRef = z
  .object({
    id: z.string(),
    type: z.enum(OPERATION_TYPES),
    status: z.enum(['accepted', 'running', 'succeeded', 'failed']),
  })
  .meta({ id: 'OperationRef' });
export type OperationRef = z.infer<typeof OperationRef>;

const OperationError = z.object({ reason: z.string(), message: z.string() });

export const Operation = z
  .object({
    id: z.string(),
    type: z.enum(OPERATION_TYPES),
    status: z.enum(['accepted', 'running', 'succeeded', 'failed']),
    actor: z.string().nullable(),
    step: z.string().nullable(),
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
    error: OperationError.nullable(),
  })
  .meta({ id: 'Operation' });
export type Operation = z.infer<typeof Operation>;

export const CommandAcceptedBody = z.object({ operation: OperationRef });

const RunningOperationView = z.object({ id: z.string(), type: z.enum(OPERATION_TYPES), actor: z.string(), startedAt: Timestamp, step: z.string() });
const FinishedOperationView = z.object({
  id: z.string(),
  type: z.enum(OPERATION_TYPES),
  actor: z.string(),
  startedAt: Timestamp,
  status: z.enum(['succeeded', 'failed']),
  finishedAt: Timestamp,
  error: OperationError.optional(),
});

export const Backup = z
  .object({
    name: z.string(),
    purpose: z.enum(BACKUP_PURPOSES),
    status: z.enum(['running', 'completed', 'failed']),
    requestId: z.string(),
    requestedAt: Timestamp,
    completedAt: Timestamp.nullable(),
    sizeBytes: z.number().nullable(),
    compressedBytes: z.number().nullable(),
    postgresVersion: z.string().nullable(),
    error: z.string().nullable(),
    deletedAt: Timestamp.nullable().describe('When the SGBackup was deleted; null while it exists (only listed with ?deleted=true)'),
  })
  .meta({ id: 'Backup' });
export type Backup = z.infer<typeof Backup>;

export const ResolvedSpecView = z
  .object({
    name: z.string(),
    engine: z.literal('postgres'),
    version: z.string(),
    size: SizeName,
    instances: z.number().int(),
    maintenanceWindow: MaintenanceWindow,
    autoMinorUpgrades: z.boolean(),
    backup: BackupPolicy.optional(),
    deletionProtection: z.boolean(),
    restoreFrom: z.object({ instance: z.string(), backup: z.string(), pointInTime: z.string().optional() }).optional(),
  })
  .meta({ id: 'InstanceSpec' });

export const InstanceView = z
  .object({
    id: z.string(),
    name: z.string(),
    phase: z.enum(PHASES),
    version: z.string().nullable().describe('The version the cluster runs (null until it is ready)'),
    patchLevel: z.number().int(),
    size: SizeName,
    instances: z.number().int(),
    pendingRestart: z.boolean(),
    maintenanceWindow: MaintenanceWindow,
    nextMaintenanceAt: Timestamp.nullable(),
    maintenance: MaintenanceRunView.nullable().describe('The latest maintenance run (waiting, running or finished)'),
    backupPolicy: BackupPolicy.nullable(),
    deletionProtection: z.boolean(),
    autoMinorUpgrades: z.boolean(),
    lastBackup: Backup.nullable(),
    runningOperation: RunningOperationView.nullable(),
    lastOperation: FinishedOperationView.nullable(),
    failure: OperationError.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Instance' });
export type InstanceView = z.infer<typeof InstanceView>;

export const CreatedBody = z.object({
  instance: z.object({ id: z.string(), name: z.string(), phase: z.enum(PHASES), spec: ResolvedSpecView }),
  operation: OperationRef,
});
export type CreatedBody = z.infer<typeof CreatedBody>;

export const InstanceList = z.object({ items: z.array(InstanceView), nextCursor: z.string().nullable() });
export const BackupList = z.object({ items: z.array(Backup) });
export const OperationList = z.object({ items: z.array(Operation), nextCursor: z.string().nullable() });

export const EventView = z
  .object({
    seq: z.number().int(),
    type: z.string(),
    at: Timestamp,
    actor: z.string(),
    requestId: z.string(),
    reason: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Event' });
export type EventView = z.infer<typeof EventView>;
export const EventList = z.object({ items: z.array(EventView), lastSeq: z.number().int().describe('Pass as ?after= to get what comes next') });

export const StateAtBody = z.object({ at: Timestamp, state: z.record(z.string(), z.unknown()).describe('The instance state (InstanceState) folded from the events up to `at`') });

export const ConnectionView = z.object({ host: z.string(), port: z.number().int(), database: z.string(), user: z.string(), secretName: z.string() });

// ---- maintenance ----------------------------------------------------------------------------

export const FleetStatusView = z
  .object({
    maxConcurrent: z.number().int(),
    paused: z.boolean(),
    running: z.array(z.string()).describe('Workflow ids (instance/<tenant>/<name>) of the instances in maintenance now'),
    waiting: z.array(z.string()).describe('Workflow ids of the instances waiting for a slot, first come first served'),
  })
  .meta({ id: 'MaintenanceFleet' });

export const MaintenanceRunItem = z
  .object({ tenant: z.string(), instance: z.string(), instanceId: z.string(), ...maintenanceRunShape })
  .meta({ id: 'MaintenanceRunOfInstance' });
export type MaintenanceRunItem = z.infer<typeof MaintenanceRunItem>;

export const UpcomingMaintenance = z
  .object({ tenant: z.string(), instance: z.string(), instanceId: z.string(), maintenanceWindow: MaintenanceWindow, nextMaintenanceAt: Timestamp })
  .meta({ id: 'UpcomingMaintenance' });
export type UpcomingMaintenance = z.infer<typeof UpcomingMaintenance>;

export const MaintenanceRunList = z.object({
  items: z.array(MaintenanceRunItem).describe('Past and current runs, newest first'),
  nextCursor: z.string().nullable(),
  upcoming: z.array(UpcomingMaintenance).describe('The next window of each live instance, soonest first'),
});

export const MaintenanceTriggered = z.object({ maintenance: z.object({ status: z.literal('triggered'), runId: z.string().describe('The run, as in GET /v1/maintenance/runs') }) });

// ---- notifications --------------------------------------------------------------------------

const subscriptionShape = { id: z.string(), url: z.string(), topics: z.array(z.enum(TOPIC_NAMES)), createdAt: Timestamp };
export const SubscriptionView = z.object(subscriptionShape).meta({ id: 'Subscription' });
export type SubscriptionView = z.infer<typeof SubscriptionView>;
export const SubscriptionCreated = z
  .object({
    ...subscriptionShape,
    secret: z.string().describe('The HMAC-SHA256 key of the x-claimflow-signature header (sha256=<hex> of "<x-claimflow-timestamp>.<body>"). Shown only here: store it.'),
  })
  .meta({ id: 'SubscriptionCreated' });
export type SubscriptionCreated = z.infer<typeof SubscriptionCreated>;
export const SubscriptionList = z.object({ items: z.array(SubscriptionView) });

export const DeliveryView = z
  .object({
    subscriptionId: z.string(),
    instance: z.string().nullable().describe('The instance name (null if the read model no longer has it)'),
    instanceId: z.string(),
    seq: z.number().int(),
    eventType: z.string(),
    status: z.enum(['delivered', 'failing']).describe('failing: the receiver has not accepted it yet; it is retried with backoff'),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    updatedAt: Timestamp,
  })
  .meta({ id: 'Delivery' });
export type DeliveryView = z.infer<typeof DeliveryView>;
export const DeliveryList = z.object({ items: z.array(DeliveryView).describe('Most recent first') });
