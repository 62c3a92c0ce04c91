import { z } from 'zod';
import { ALL_VERSIONS, isSupportedVersion } from './catalog.js';
import { TOPIC_NAMES } from './notifications.js';
import { SIZE_NAMES } from './sizes.js';
import { DAYS_OF_WEEK, INSTANCE_NAME_MAX } from './spec.js';

// Every zod schema of the domain, built when called rather than when imported. Building them is
// most of what evaluating the domain costs (about 2 ms and 170 KiB, BENCHMARKS.md), and a workflow
// thread evaluates the domain anew for each workflow it starts or replays. So the API, the
// activities and the tests build them once per process (./schemas.ts), and a workflow thread once
// for all its workflows (src/workflows/shared-modules.ts), never once per workflow.

const dnsLabel = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const cronField = String.raw`(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*`;

export function defineSchemas() {
  // What a user asks for when creating an instance.
  const InstanceName = z
    .string()
    .max(INSTANCE_NAME_MAX, `must be at most ${INSTANCE_NAME_MAX} characters`)
    .regex(dnsLabel, 'must be a DNS label: lowercase letters, digits and "-", starting with a letter');
  const TenantName = z.string().max(40).regex(dnsLabel, 'must be a DNS label');
  const Version = z.string().refine(isSupportedVersion, { message: `must be a supported version (${ALL_VERSIONS.join(', ')})` });
  const SizeName = z.enum(SIZE_NAMES);
  const MaintenanceWindow = z.strictObject({
    dayOfWeek: z.enum(DAYS_OF_WEEK),
    timeOfDay: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (UTC, 24h)'),
    durationMinutes: z.number().int().min(30).max(480).default(60),
  });
  const BackupPolicy = z.strictObject({
    schedule: z.string().regex(new RegExp(`^${cronField}( ${cronField}){4}$`), 'must be a 5-field cron expression, e.g. "0 3 * * *"'),
    retention: z.number().int().min(1).max(90),
  });
  const RestoreFrom = z.strictObject({
    instance: InstanceName,
    backup: z.string().min(1).max(63),
    pointInTime: z.iso.datetime({ offset: true }).optional(),
  });
  const InstanceSpec = z.strictObject({
    name: InstanceName,
    engine: z.literal('postgres').default('postgres'),
    version: Version,
    size: SizeName,
    instances: z.number().int().min(1).max(3).default(1),
    maintenanceWindow: MaintenanceWindow.optional(),
    autoMinorUpgrades: z.boolean().default(false),
    backup: BackupPolicy.optional(),
    deletionProtection: z.boolean().default(false),
    restoreFrom: RestoreFrom.optional(),
  });

  // Commands sent to an instance's workflow as Updates. The API validates the same schemas, so a
  // bad field is named in a 400 before it ever reaches Temporal.
  const ScaleCommand = z.strictObject({ kind: z.literal('scale'), size: SizeName, applyAt: z.enum(['now', 'maintenance']).default('now') });
  const RestartCommand = z.strictObject({ kind: z.literal('restart') });
  const UpgradeCommand = z.strictObject({ kind: z.literal('upgrade'), version: z.string().min(1) });
  const SecurityUpgradeCommand = z.strictObject({ kind: z.literal('security-upgrade') });
  const BackupCommand = z.strictObject({ kind: z.literal('backup') });
  // A Kubernetes object name (DNS-1123 subdomain), as the SGBackups claimflow creates are named.
  const BackupName = z
    .string()
    .min(1)
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a backup name as GET /v1/instances/{name}/backups lists it');
  const DeleteBackupCommand = z.strictObject({ kind: z.literal('delete-backup'), backupName: BackupName });
  const ChangeSettingsCommand = z.strictObject({
    kind: z.literal('change-settings'),
    maintenanceWindow: MaintenanceWindow.optional(),
    backup: BackupPolicy.nullable().optional(),
    deletionProtection: z.boolean().optional(),
    autoMinorUpgrades: z.boolean().optional(),
  });
  const DeprovisionCommand = z.strictObject({ kind: z.literal('deprovision'), finalBackup: z.boolean().default(true) });
  const Command = z.discriminatedUnion('kind', [
    ScaleCommand,
    RestartCommand,
    UpgradeCommand,
    SecurityUpgradeCommand,
    BackupCommand,
    DeleteBackupCommand,
    ChangeSettingsCommand,
    DeprovisionCommand,
  ]);
  // Who asked, why, and the id that makes a retry of the same request a no-op.
  const CommandEnvelope = z.strictObject({
    requestId: z.string().min(1).max(200),
    actor: z.string().min(1).max(200),
    reason: z.string().max(500).optional(),
    command: Command,
  });

  // Work that Temporal Schedules start rather than users: a maintenance run in the instance's
  // window and a scheduled backup. The run id names one run for one instance, so a retry is a no-op.
  const MaintenanceRequest = z.strictObject({
    runId: z.string().min(1),
    actor: z.string().min(1),
    trigger: z.enum(['schedule', 'manual']),
    windowEndsAt: z.iso.datetime({ offset: true }),
    /** The window the sender found the instance in (maintenanceWindowKey); absent: any. */
    window: z.string().min(1).optional(),
    /** When the Schedule meant this window to open: one window opens one run, whoever sends it. */
    windowOpensAt: z.iso.datetime({ offset: true }).optional(),
    /** false: nobody waits for a report (absent in requests of the per-instance run workflows, which do). */
    report: z.boolean().optional(),
  });
  const ScheduledBackupRequest = z.strictObject({
    runId: z.string().min(1),
    actor: z.string().min(1),
    /** Give up waiting for a running operation at this time. */
    notAfter: z.iso.datetime({ offset: true }),
  });

  // A tenant's webhook for the topics it cares about (./notifications.ts).
  const Subscription = z.strictObject({
    url: z.url({ protocol: /^https?$/ }).max(2000),
    topics: z.array(z.enum(TOPIC_NAMES)).min(1).max(TOPIC_NAMES.length),
  });

  return {
    InstanceName, TenantName, Version, SizeName, MaintenanceWindow, BackupPolicy, RestoreFrom, InstanceSpec,
    ScaleCommand, RestartCommand, UpgradeCommand, SecurityUpgradeCommand, BackupCommand, BackupName, DeleteBackupCommand,
    ChangeSettingsCommand, DeprovisionCommand, Command, CommandEnvelope,
    MaintenanceRequest, ScheduledBackupRequest,
    Subscription,
  };
}

export type DomainSchemas = ReturnType<typeof defineSchemas>;
