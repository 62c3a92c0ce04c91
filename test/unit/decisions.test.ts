import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ON_DEMAND_BACKUPS_MAX, decide, planUpgrade, reduceAll, type Command, type InstanceState } from '../../src/domain/index.js';
import { stamp } from './support/stories.js';

function readyInstance(overrides: Partial<InstanceState> = {}): InstanceState {
  const state = reduceAll(
    stamp([
      { type: 'InstanceRequested', actor: 'a', requestId: 'r0', data: { instanceId: 'i', tenant: 't', spec: { name: 'db', engine: 'postgres', version: '15.12', size: 'small', instances: 1, autoMinorUpgrades: false, deletionProtection: false, maintenanceWindow: { dayOfWeek: 'monday', timeOfDay: '01:00', durationMinutes: 60 } } } },
      { type: 'InstanceReady', actor: 'a', requestId: 'r0', data: { version: '15.12', connection: { host: 'h', port: 5432, database: 'd', user: 'u', secretName: 's' } } },
    ]),
  )!;
  return { ...state, ...overrides };
}

const expectRejected = (state: InstanceState, command: Command, code: string, mentions: string) => {
  const decision = decide(state, command);
  assert.equal(decision.ok, false);
  if (!decision.ok) {
    assert.equal(decision.code, code);
    assert.match(decision.message, new RegExp(mentions));
  }
};

describe('upgrade planning', () => {
  test('same major is minor, higher major is major', () => {
    assert.deepEqual(planUpgrade('15.10', '15.13'), { ok: true, kind: 'minor' });
    assert.deepEqual(planUpgrade('15.10', '17.2'), { ok: true, kind: 'major' });
  });
  test('downgrades, unknown versions and no-ops are refused with a reason', () => {
    assert.equal(planUpgrade('15.12', '15.10').ok, false);
    assert.equal(planUpgrade('16.6', '15.13').ok, false);
    assert.match(JSON.stringify(planUpgrade('15.12', '15.99')), /not in the catalog/);
    assert.match(JSON.stringify(planUpgrade('15.12', '15.12')), /already runs/);
  });
});

describe('command decisions', () => {
  test('a ready instance accepts each command', () => {
    const state = readyInstance();
    for (const command of [
      { kind: 'scale', size: 'medium', applyAt: 'now' },
      { kind: 'restart' },
      { kind: 'upgrade', version: '16.9' },
      { kind: 'security-upgrade' },
      { kind: 'backup' },
      { kind: 'deprovision', finalBackup: true },
    ] satisfies Command[]) {
      assert.equal(decide(state, command).ok, true, command.kind);
    }
    assert.deepEqual(decide(state, { kind: 'upgrade', version: '16.9' }), { ok: true, upgradeKind: 'major' });
  });

  test('one operation at a time: the rejection names the running one', () => {
    const state = readyInstance({ runningOperation: { id: 'op-7', type: 'major-upgrade', actor: 'a', startedAt: 't', step: 'upgrading' } });
    expectRejected(state, { kind: 'restart' }, 'busy', 'major-upgrade \\(operation op-7\\)');
    expectRejected(state, { kind: 'change-settings', deletionProtection: true }, 'busy', 'op-7');
  });

  test('deletion protection blocks deprovisioning', () => {
    const state = readyInstance();
    expectRejected({ ...state, spec: { ...state.spec, deletionProtection: true } }, { kind: 'deprovision', finalBackup: true }, 'deletion_protected', 'deletion protection');
  });

  test('downgrades and unknown versions are rejected with why', () => {
    expectRejected(readyInstance(), { kind: 'upgrade', version: '14.18' }, 'downgrade', 'downgrade');
    expectRejected(readyInstance(), { kind: 'upgrade', version: '18.0' }, 'unknown_version', 'not in the catalog');
  });

  test('a provisioning or failed instance accepts only deprovisioning', () => {
    const failed = readyInstance({ phase: 'failed', version: null });
    expectRejected(failed, { kind: 'restart' }, 'not_ready', 'failed');
    assert.equal(decide(failed, { kind: 'deprovision', finalBackup: false }).ok, true);
  });

  test('only a backup the instance has can be deleted', () => {
    const backup = { name: 'db-backup-3-i', purpose: 'on-demand', status: 'completed', requestId: 'r3', requestedAt: 't' } as const;
    const state = readyInstance({ backups: [backup] });
    assert.equal(decide(state, { kind: 'delete-backup', backupName: backup.name }).ok, true);
    expectRejected(state, { kind: 'delete-backup', backupName: 'db-backup-9-i' }, 'unknown_backup', 'no backup db-backup-9-i');
  });

  test('on-demand backups are limited, the others do not count', () => {
    const record = (index: number, purpose: 'on-demand' | 'scheduled') =>
      ({ name: `b${index}`, purpose, status: index % 2 ? 'failed' : 'completed', requestId: `r${index}`, requestedAt: 't' }) as const;
    const onDemand = Array.from({ length: ON_DEMAND_BACKUPS_MAX }, (_, index) => record(index, 'on-demand'));
    const scheduled = Array.from({ length: 20 }, (_, index) => record(1000 + index, 'scheduled'));
    expectRejected(readyInstance({ backups: onDemand }), { kind: 'backup' }, 'backup_limit', `${ON_DEMAND_BACKUPS_MAX}.*delete one first`);
    assert.equal(decide(readyInstance({ backups: [...onDemand.slice(1), ...scheduled] }), { kind: 'backup' }).ok, true);
  });

  test('scaling to the current size is not a change', () => {
    expectRejected(readyInstance(), { kind: 'scale', size: 'small', applyAt: 'now' }, 'invalid_transition', 'already small');
  });
});
