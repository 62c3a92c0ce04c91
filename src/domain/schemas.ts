import type { z } from 'zod';
import { defineSchemas } from './define-schemas.js';

// The domain's schemas, built once for a process that validates outside workflow code: the API,
// the activities, scripts and tests. Workflow code takes the copy its thread built
// (src/workflows/shared-modules.ts) and imports only the types from here.

export const {
  InstanceName, TenantName, Version, SizeName, MaintenanceWindow, BackupPolicy, RestoreFrom, InstanceSpec,
  ScaleCommand, RestartCommand, UpgradeCommand, SecurityUpgradeCommand, BackupCommand, BackupName, DeleteBackupCommand,
  ChangeSettingsCommand, DeprovisionCommand, Command, CommandEnvelope,
  MaintenanceRequest, ScheduledBackupRequest,
  Subscription,
} = defineSchemas();

export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;
export type BackupPolicy = z.infer<typeof BackupPolicy>;
export type InstanceSpecInput = z.input<typeof InstanceSpec>;
/** What a user asks for when creating an instance. */
export type InstanceSpec = z.infer<typeof InstanceSpec>;
export type Command = z.infer<typeof Command>;
export type CommandOf<K extends Command['kind']> = Extract<Command, { kind: K }>;
/** Who asked, why, and the id that makes a retry of the same request a no-op. */
export type CommandEnvelope = z.infer<typeof CommandEnvelope>;
export type MaintenanceRequest = z.infer<typeof MaintenanceRequest>;
export type ScheduledBackupRequest = z.infer<typeof ScheduledBackupRequest>;
export type Subscription = z.infer<typeof Subscription>;
