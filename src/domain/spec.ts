import { z } from 'zod';
import { isSupportedVersion, ALL_VERSIONS } from './catalog.js';
import { SIZE_NAMES } from './sizes.js';

// Object names derive from the instance name plus an operation suffix ("-security-12345"), and
// SGDbOps names are capped at 57 characters by StackGres: 36 leaves room for the longest
// suffix ("-security-<seq>-<id tag>").
export const INSTANCE_NAME_MAX = 36;
const dnsLabel = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export const InstanceName = z
  .string()
  .max(INSTANCE_NAME_MAX, `must be at most ${INSTANCE_NAME_MAX} characters`)
  .regex(dnsLabel, 'must be a DNS label: lowercase letters, digits and "-", starting with a letter');

export const TenantName = z.string().max(40).regex(dnsLabel, 'must be a DNS label');

export const Version = z.string().refine(isSupportedVersion, {
  message: `must be a supported version (${ALL_VERSIONS.join(', ')})`,
});

export const SizeName = z.enum(SIZE_NAMES);

export const DAYS_OF_WEEK = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

export const MaintenanceWindow = z.strictObject({
  dayOfWeek: z.enum(DAYS_OF_WEEK),
  timeOfDay: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (UTC, 24h)'),
  durationMinutes: z.number().int().min(30).max(480).default(60),
});
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

const cronField = String.raw`(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*`;
export const BackupPolicy = z.strictObject({
  schedule: z.string().regex(new RegExp(`^${cronField}( ${cronField}){4}$`), 'must be a 5-field cron expression, e.g. "0 3 * * *"'),
  retention: z.number().int().min(1).max(90),
});
export type BackupPolicy = z.infer<typeof BackupPolicy>;

export const RestoreFrom = z.strictObject({
  instance: InstanceName,
  backup: z.string().min(1).max(63),
  pointInTime: z.iso.datetime({ offset: true }).optional(),
});

/** What a user asks for when creating an instance. */
export const InstanceSpec = z.strictObject({
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
export type InstanceSpecInput = z.input<typeof InstanceSpec>;
export type InstanceSpec = z.infer<typeof InstanceSpec>;
