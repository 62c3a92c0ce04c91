import { planUpgrade } from './catalog.js';
import type { Command } from './commands.js';
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
  | 'gone';

export interface Rejection {
  code: RejectionCode;
  message: string;
}

export type Decision = { ok: true; upgradeKind?: 'minor' | 'major' } | ({ ok: false } & Rejection);

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
    case 'restart':
    case 'security-upgrade':
    case 'backup':
      return { ok: true };
  }
}
