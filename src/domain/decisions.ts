import { planUpgrade } from './catalog.js';
import type { Command } from './schemas.js';
import type { InstanceState } from './state.js';

// Whether a command may run against the instance as it is now. Pure, so the workflow's update
// validators and the API answer the same question the same way.

export type RejectionCode =
  | 'busy'
  | 'deletion_protected'
  | 'not_ready'
  | 'invalid_transition'
  | 'unknown_version'
  | 'downgrade'
  | 'same_version'
  | 'unknown_backup'
  | 'backup_limit'
  | 'gone';

export interface Rejection {
  code: RejectionCode;
  message: string;
}

export type Decision = { ok: true; upgradeKind?: 'minor' | 'major' } | ({ ok: false } & Rejection);

/**
 * On-demand backups stay until someone deletes them (StackGres's managedLifecycle false), and each
 * is carried in the instance's state from run to run: a limit keeps that state, and the storage
 * bill, bounded, as cloud databases limit manual snapshots.
 */
export const ON_DEMAND_BACKUPS_MAX = 100;

const reject = (code: RejectionCode, message: string): Decision => ({ ok: false, code, message });

export function decide(state: InstanceState, command: Command): Decision {
  if (state.phase === 'deleted') return reject('gone', `instance ${state.name} has been deleted`);
  const running = state.runningOperation;
  if (running) {
    return reject('busy', `instance ${state.name} is busy with ${running.type} (operation ${running.id}): ${running.step}`);
  }
  if (state.phase === 'deprovisioning') return reject('gone', `instance ${state.name} is being deprovisioned`);
  if (command.kind === 'deprovision') {
    return state.spec.deletionProtection
      ? reject('deletion_protected', `instance ${state.name} has deletion protection on; turn it off first`)
      : { ok: true };
  }
  if (command.kind === 'change-settings') return { ok: true };
  if (command.kind === 'delete-backup') {
    return state.backups.some((backup) => backup.name === command.backupName)
      ? { ok: true }
      : reject('unknown_backup', `instance ${state.name} has no backup ${command.backupName}`);
  }
  if (state.phase !== 'ready' || state.version === null) {
    return reject('not_ready', `instance ${state.name} is ${state.phase}; ${command.kind} needs a ready instance`);
  }
  switch (command.kind) {
    case 'scale':
      return command.size === state.size && !state.pendingRestart
        ? reject('invalid_transition', `instance ${state.name} is already ${command.size}`)
        : { ok: true };
    case 'upgrade': {
      const plan = planUpgrade(state.version, command.version);
      return plan.ok ? { ok: true, upgradeKind: plan.kind } : reject(plan.code, plan.message);
    }
    case 'backup': {
      const kept = state.backups.filter((backup) => backup.purpose === 'on-demand').length;
      return kept >= ON_DEMAND_BACKUPS_MAX
        ? reject('backup_limit', `instance ${state.name} keeps ${kept} on-demand backups, the most it may (${ON_DEMAND_BACKUPS_MAX}); delete one first`)
        : { ok: true };
    }
    case 'restart':
    case 'security-upgrade':
      return { ok: true };
  }
}
