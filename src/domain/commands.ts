import { z } from 'zod';
import { BackupPolicy, MaintenanceWindow, SizeName, Version } from './spec.js';

// Commands sent to an instance's workflow as Updates. The API validates the same schemas, so a
// bad field is named in a 400 before it ever reaches Temporal.

export const ScaleCommand = z.strictObject({
  kind: z.literal('scale'),
  size: SizeName,
  applyAt: z.enum(['now', 'maintenance']).default('now'),
});

export const RestartCommand = z.strictObject({ kind: z.literal('restart') });

export const UpgradeCommand = z.strictObject({ kind: z.literal('upgrade'), version: z.string().min(1) });

export const SecurityUpgradeCommand = z.strictObject({ kind: z.literal('security-upgrade') });

export const BackupCommand = z.strictObject({ kind: z.literal('backup') });

/** A Kubernetes object name (DNS-1123 subdomain), as the SGBackups claimflow creates are named. */
export const BackupName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a backup name as GET /v1/instances/{name}/backups lists it');

export const DeleteBackupCommand = z.strictObject({ kind: z.literal('delete-backup'), backupName: BackupName });

export const ChangeSettingsCommand = z.strictObject({
  kind: z.literal('change-settings'),
  maintenanceWindow: MaintenanceWindow.optional(),
  backup: BackupPolicy.nullable().optional(),
  deletionProtection: z.boolean().optional(),
  autoMinorUpgrades: z.boolean().optional(),
});

export const DeprovisionCommand = z.strictObject({ kind: z.literal('deprovision'), finalBackup: z.boolean().default(true) });

export const Command = z.discriminatedUnion('kind', [
  ScaleCommand,
  RestartCommand,
  UpgradeCommand,
  SecurityUpgradeCommand,
  BackupCommand,
  DeleteBackupCommand,
  ChangeSettingsCommand,
  DeprovisionCommand,
]);
export type Command = z.infer<typeof Command>;
export type CommandOf<K extends Command['kind']> = Extract<Command, { kind: K }>;

/** Who asked, why, and the id that makes a retry of the same request a no-op. */
export const CommandEnvelope = z.strictObject({
  requestId: z.string().min(1).max(200),
  actor: z.string().min(1).max(200),
  reason: z.string().max(500).optional(),
  command: Command,
});
export type CommandEnvelope = z.infer<typeof CommandEnvelope>;

export { Version };
