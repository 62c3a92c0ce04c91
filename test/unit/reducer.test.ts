import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { EventOrderError, backupToResume, dbOpsToResume, operationToResume, reduce, reduceAll, type InstanceEvent } from '../../src/domain/index.js';
import { story, storySpec } from './support/stories.js';

const final = (events: InstanceEvent[]) => reduceAll(events)!;

describe('reducer', () => {
  test('folding a prefix, then the rest, equals folding everything (continue-as-new and rebuilds rely on it)', () => {
    fc.assert(
      fc.property(story, fc.nat(), (events, cut) => {
        const at = cut % (events.length + 1);
        const snapshot = reduceAll(events.slice(0, at));
        assert.deepEqual(reduceAll(events.slice(at), snapshot), final(events));
      }),
    );
  });

  test('state survives a JSON round trip unchanged (it is carried across continue-as-new as a payload)', () => {
    fc.assert(fc.property(story, (events) => assert.deepEqual(JSON.parse(JSON.stringify(final(events))), final(events))));
  });

  test('the state knows exactly how many events made it, and when the last happened', () => {
    fc.assert(
      fc.property(story, (events) => {
        const state = final(events);
        assert.equal(state.lastSeq, events.length);
        assert.equal(state.updatedAt, events.at(-1)!.at);
      }),
    );
  });

  test('every started operation is finished exactly once, with the outcome of its last event', () => {
    fc.assert(
      fc.property(story, (events) => {
        const state = final(events);
        if (state.phase !== 'provisioning') assert.equal(state.runningOperation, null);
        const last = events.at(-1)!;
        if (state.lastOperation) assert.equal(state.lastOperation.id, last.requestId);
        const failed = ['OperationFailed', 'UpgradeFailed', 'BackupFailed', 'ProvisioningFailed'].includes(last.type);
        if (state.lastOperation) assert.equal(state.lastOperation.status, failed ? 'failed' : 'succeeded');
      }),
    );
  });

  test('the version changes only through a completed minor or major upgrade', () => {
    fc.assert(
      fc.property(story, (events) => {
        let state = null;
        for (const event of events) {
          const before = state?.version ?? null;
          state = reduce(state, event);
          const upgraded = event.type === 'UpgradeCompleted' && event.data.kind !== 'security';
          if (before !== null && state.version !== before) assert.ok(upgraded, `${event.type} changed the version`);
        }
      }),
    );
  });

  test('state at a time T is the fold of the events up to T', () => {
    fc.assert(
      fc.property(story, fc.nat(), (events, pick) => {
        const cutoff = events[pick % events.length]!.at;
        const upTo = events.filter((event) => event.at <= cutoff);
        assert.equal(reduceAll(upTo)!.updatedAt, cutoff);
      }),
    );
  });

  test('refuses events out of order and histories that do not start with InstanceRequested', () => {
    fc.assert(
      fc.property(story.filter((events) => events.length > 3), (events) => {
        assert.throws(() => reduceAll([events[0]!, events[2]!]), EventOrderError);
        assert.throws(() => reduceAll(events.slice(1)), EventOrderError);
      }),
    );
  });

  test('a failed upgrade keeps the old version and a ready instance', () => {
    const state = reduceAll(
      [
        { type: 'InstanceRequested', requestId: 'r0', data: { instanceId: 'i', tenant: 't', spec: storySpec } },
        { type: 'InstanceReady', requestId: 'r0', data: { version: '15.10', connection: { host: 'h', port: 5432, database: 'd', user: 'u', secretName: 's' } } },
        { type: 'UpgradeRequested', requestId: 'r1', data: { kind: 'major', fromVersion: '15.10', toVersion: '16.9' } },
        { type: 'UpgradeFailed', requestId: 'r1', data: { kind: 'major', stackgresReason: 'OperationFailed', message: 'pg_upgrade check failed' } },
      ].map((event, index) => ({ ...event, actor: 'a', seq: index + 1, at: `2026-01-01T00:00:0${index}Z` }) as InstanceEvent),
    )!;
    assert.equal(state.version, '15.10');
    assert.equal(state.phase, 'ready');
    assert.deepEqual(state.lastOperation?.error, { reason: 'OperationFailed', message: 'pg_upgrade check failed' });
  });

  test('a deleted backup leaves the state; a deletion someone asked for is an operation of its own', () => {
    const completed = (name: string, purpose: 'on-demand' | 'scheduled') =>
      ({ backupName: name, purpose, sizeBytes: 1, compressedBytes: 1, postgresVersion: '15.10', completedAt: '2026-01-01T00:00:00Z' }) as const;
    const state = reduceAll(
      [
        { type: 'InstanceRequested', requestId: 'r0', data: { instanceId: 'i', tenant: 't', spec: storySpec } },
        { type: 'InstanceReady', requestId: 'r0', data: { version: '15.10', connection: { host: 'h', port: 5432, database: 'd', user: 'u', secretName: 's' } } },
        { type: 'BackupRequested', requestId: 'r1', data: { backupName: 'b1', purpose: 'on-demand' } },
        { type: 'BackupCompleted', requestId: 'r1', data: completed('b1', 'on-demand') },
        { type: 'BackupRequested', requestId: 'r2', data: { backupName: 'b2', purpose: 'scheduled' } },
        { type: 'BackupCompleted', requestId: 'r2', data: completed('b2', 'scheduled') },
        { type: 'BackupRequested', requestId: 'r3', data: { backupName: 'b3', purpose: 'scheduled' } },
        { type: 'BackupCompleted', requestId: 'r3', data: completed('b3', 'scheduled') },
        // retention, inside the scheduled backup's run: no operation of its own
        { type: 'BackupDeleted', requestId: 'r3', data: { backupName: 'b2', cause: 'retention' } },
        { type: 'BackupDeletionRequested', requestId: 'r4', data: { backupName: 'b1' } },
      ].map((event, index) => ({ ...event, actor: 'a', seq: index + 1, at: `2026-01-01T00:00:0${index}Z` }) as InstanceEvent),
    )!;
    assert.deepEqual(state.backups.map((backup) => backup.name), ['b1', 'b3']);
    assert.equal(state.runningOperation?.type, 'delete-backup');
    assert.match(state.runningOperation?.step ?? '', /deleting SGBackup b1/);
    const deleted = reduce(state, { type: 'BackupDeleted', requestId: 'r4', actor: 'a', seq: state.lastSeq + 1, at: '2026-01-01T00:01:00Z', data: { backupName: 'b1', cause: 'requested' } });
    assert.deepEqual(deleted.backups.map((backup) => backup.name), ['b3']);
    assert.equal(deleted.runningOperation, null);
    assert.deepEqual([deleted.lastOperation?.id, deleted.lastOperation?.type, deleted.lastOperation?.status], ['r4', 'delete-backup', 'succeeded']);
  });

  test('an adoption, wherever the workflow before it stopped, leaves nothing half-done: what ran is failed as abandoned or goes on', () => {
    fc.assert(
      fc.property(story, fc.nat(), (events, cut) => {
        const stoppedAt = reduceAll(events.slice(0, 1 + (cut % events.length)))!;
        if (stoppedAt.phase === 'deleted') return;
        const running = stoppedAt.runningOperation;
        const resumed = operationToResume(stoppedAt);
        const operation = running && { id: running.id, type: running.type };
        const adopted = reduce(stoppedAt, {
          type: 'InstanceAdopted', requestId: 'adoption', actor: 'platform:ops', seq: stoppedAt.lastSeq + 1, at: '2027-01-01T00:00:00.000Z', reason: 'history gone',
          data: { message: 'm', ...(operation ? (resumed ? { resumedOperation: operation } : { abandonedOperation: operation }) : {}) },
        });
        if (resumed) {
          // Only what asks the cluster for an end state again goes on, exactly as it stood.
          assert.ok(['provision', 'deprovision', 'backup', 'restart', 'scale', 'minor-upgrade', 'major-upgrade', 'security-upgrade'].includes(resumed.type), resumed.type);
          // One that waits for something on the cluster goes on only once the log names it.
          if (resumed.type !== 'provision' && resumed.type !== 'deprovision') assert.ok(dbOpsToResume(stoppedAt) ?? backupToResume(stoppedAt), resumed.type);
          assert.deepEqual([adopted.runningOperation, adopted.phase, adopted.lastOperation], [running, stoppedAt.phase, stoppedAt.lastOperation]);
          // Its own backup runs on; no other does.
          assert.deepEqual(adopted.backups.filter((backup) => backup.status === 'running'), stoppedAt.backups.filter((backup) => backup.status === 'running' && backup.requestId === resumed.id));
          return;
        }
        assert.ok(adopted.backups.every((backup) => backup.status !== 'running'));
        assert.equal(adopted.runningOperation, null);
        assert.ok(!['provisioning', 'deprovisioning'].includes(adopted.phase), adopted.phase);
        if (running) {
          assert.deepEqual([adopted.lastOperation?.id, adopted.lastOperation?.status, adopted.lastOperation?.error?.reason], [running.id, 'failed', 'Abandoned']);
        } else {
          assert.deepEqual({ ...adopted, lastSeq: stoppedAt.lastSeq, updatedAt: stoppedAt.updatedAt }, stoppedAt);
        }
      }),
    );
  });

  // An instance's first events, and its state after a list of events numbered in order.
  const requested = { type: 'InstanceRequested', requestId: 'create', data: { instanceId: 'i1', tenant: 't', spec: storySpec } };
  const ready = { type: 'InstanceReady', requestId: 'create', data: { version: '15.10', connection: { host: 'h', port: 5432, database: 'postgres', user: 'postgres', secretName: 's' } } };
  const stateAfter = (...events: object[]) =>
    reduceAll(events.map((event, index) => ({ ...event, actor: 'a', seq: index + 1, at: `2026-01-01T00:00:0${index}Z` }) as InstanceEvent))!;

  test('an adoption goes on with a provisioning, a backup of its own, and a deprovisioning once its final backup is named or taken', () => {
    const resumedType = (...events: object[]) => operationToResume(stateAfter(...events))?.type ?? null;
    const deprovision = (finalBackup: boolean) => ({ type: 'DeprovisionRequested', requestId: 'bye', data: { finalBackup } });
    const finalBackup = { type: 'BackupRequested', requestId: 'bye', data: { backupName: 'b-final', purpose: 'final' } };
    const finalTaken = { type: 'FinalBackupTaken', requestId: 'bye', data: { backupName: 'b-final', sizeBytes: 1, compressedBytes: 1, postgresVersion: '15.10', completedAt: '2026-01-01T00:00:09Z' } };

    assert.equal(resumedType(requested), 'provision');
    assert.equal(resumedType(requested, { type: 'ClaimApplied', requestId: 'create', data: { namespace: 'n', claimName: 'c', size: 'small', version: '15.10' } }), 'provision');
    assert.equal(resumedType(requested, ready), null);
    assert.equal(resumedType(requested, ready, deprovision(false)), 'deprovision');
    assert.equal(resumedType(requested, ready, deprovision(false), { type: 'ClaimDeleted', requestId: 'bye', data: { claimName: 'c' } }), 'deprovision');
    assert.equal(resumedType(requested, ready, deprovision(true)), null, 'the final backup was not begun');
    assert.equal(resumedType(requested, ready, deprovision(true), finalBackup), 'deprovision', 'the final backup is awaited again');
    assert.equal(resumedType(requested, ready, deprovision(true), finalBackup, finalTaken), 'deprovision');
    assert.equal(resumedType(requested, ready, { type: 'RestartRequested', requestId: 'r', data: {} }), null, 'no SGDbOps named yet');
    assert.equal(resumedType(requested, ready, { type: 'BackupRequested', requestId: 'b', data: { backupName: 'b-1', purpose: 'on-demand' } }), 'backup');
    assert.equal(resumedType(requested, ready, { type: 'BackupRequested', requestId: 'b', data: { backupName: 'b-1', purpose: 'scheduled' } }), 'backup');
    assert.equal(resumedType(requested, ready, { type: 'UpgradeRequested', requestId: 'u', data: { kind: 'major', fromVersion: '15.10', toVersion: '16.6' } }, { type: 'BackupRequested', requestId: 'u', data: { backupName: 'b-2', purpose: 'pre-upgrade' } }), 'major-upgrade', 'its backup is awaited again');
  });

  test('an adoption goes on with a restart, a resize or an upgrade once its SGDbOps is named: a takeover awaits that SGDbOps again', () => {
    const toResume = (...events: object[]) => {
      const state = stateAfter(requested, ready, ...events);
      return [operationToResume(state)?.type ?? null, dbOpsToResume(state) ?? null];
    };
    const restartStarted = { type: 'RestartStarted', requestId: 'r', data: { dbOpsName: 'db-restart-3' } };
    assert.deepEqual(toResume({ type: 'RestartRequested', requestId: 'r', data: {} }, restartStarted), ['restart', { name: 'db-restart-3' }]);

    const resize = { type: 'ScaleRequested', requestId: 'r', data: { fromSize: 'small', toSize: 'medium', applyAt: 'now' } };
    assert.deepEqual(toResume(resize), [null, null], 'waiting for the cluster to ask for a restart');
    assert.deepEqual(toResume(resize, restartStarted), ['scale', { name: 'db-restart-3' }]);
    const restarted = { type: 'RestartCompleted', requestId: 'r', data: { dbOpsName: 'db-restart-3' } };
    assert.deepEqual(toResume(resize, restartStarted, restarted), [null, null], 'past its restart, nothing is left to await');

    const upgrade = (kind: string, toVersion: string) => ({ type: 'UpgradeRequested', requestId: 'u', data: { kind, fromVersion: '15.10', toVersion } });
    const upgradeStarted = (kind: string) => ({ type: 'UpgradeStarted', requestId: 'u', data: { kind, dbOpsName: `db-${kind}-9` } });
    assert.deepEqual(toResume(upgrade('minor', '15.12')), [null, null]);
    assert.deepEqual(toResume(upgrade('minor', '15.12'), upgradeStarted('minor')), ['minor-upgrade', { name: 'db-minor-9', toVersion: '15.12' }]);
    assert.deepEqual(toResume(upgrade('security', '15.10'), upgradeStarted('security')), ['security-upgrade', { name: 'db-security-9' }]);
    const preUpgradeBackup = [
      { type: 'BackupRequested', requestId: 'u', data: { backupName: 'b-pre', purpose: 'pre-upgrade' } },
      { type: 'BackupCompleted', requestId: 'u', data: { backupName: 'b-pre', purpose: 'pre-upgrade', sizeBytes: 1, compressedBytes: 1, postgresVersion: '15.10', completedAt: '2026-01-01T00:00:05Z' } },
    ];
    assert.deepEqual(toResume(upgrade('major', '16.6'), ...preUpgradeBackup, upgradeStarted('major')), ['major-upgrade', { name: 'db-major-9', toVersion: '16.6', backupPath: 'b-pre' }]);

    // What a finished operation leaves behind names no SGDbOps.
    const done = stateAfter(requested, ready, upgrade('minor', '15.12'), upgradeStarted('minor'), { type: 'UpgradeCompleted', requestId: 'u', data: { kind: 'minor', dbOpsName: 'db-minor-9', version: '15.12' } });
    assert.deepEqual([done.runningOperation, Object.keys(done.lastOperation ?? {}).sort()], [null, ['actor', 'finishedAt', 'id', 'startedAt', 'status', 'type']]);
  });
});
