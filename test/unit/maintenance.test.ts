import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  DAYS_OF_WEEK, defaultMaintenanceWindow, expiredBackups, maintenanceWindowKey, nextMaintenanceAt, planMaintenance, refuseMaintenance, windowOfKey,
  type BackupRecord, type MaintenanceWindow,
} from '../../src/domain/index.js';

const window: MaintenanceWindow = { dayOfWeek: 'wednesday', timeOfDay: '02:30', durationMinutes: 60 };

describe('maintenance windows', () => {
  test('the next window is the coming one, the open one, or next week once maintenance ran in it', () => {
    // 2026-11-18 is a Wednesday.
    assert.equal(nextMaintenanceAt(window, new Date('2026-11-16T10:00:00Z')).toISOString(), '2026-11-18T02:30:00.000Z');
    assert.equal(nextMaintenanceAt(window, new Date('2026-11-18T02:45:00Z')).toISOString(), '2026-11-18T02:30:00.000Z');
    assert.equal(nextMaintenanceAt(window, new Date('2026-11-18T02:45:00Z'), '2026-11-18T02:30:05Z').toISOString(), '2026-11-25T02:30:00.000Z');
    assert.equal(nextMaintenanceAt(window, new Date('2026-11-18T03:30:00Z')).toISOString(), '2026-11-25T02:30:00.000Z');
  });

  test('a window that crosses midnight is still open after it', () => {
    const lateSunday: MaintenanceWindow = { dayOfWeek: 'sunday', timeOfDay: '23:30', durationMinutes: 120 };
    assert.equal(nextMaintenanceAt(lateSunday, new Date('2026-11-23T00:30:00Z')).toISOString(), '2026-11-22T23:30:00.000Z');
  });

  test('the next window is never in the past and at most a week away', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2020-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }), fc.constantFrom(...DAYS_OF_WEEK), (now, day) => {
        const next = nextMaintenanceAt({ ...window, dayOfWeek: day }, now);
        assert.ok(next.getTime() + window.durationMinutes * 60_000 > now.getTime());
        assert.ok(next.getTime() - now.getTime() <= 7 * 24 * 3600_000);
        assert.equal(next.getUTCDay(), (DAYS_OF_WEEK.indexOf(day) + 1) % 7);
      }),
    );
  });

  test('derived windows are stable and spread across the week', () => {
    assert.deepEqual(defaultMaintenanceWindow('acme', 'orders'), defaultMaintenanceWindow('acme', 'orders'));
    const days = new Set(Array.from({ length: 200 }, (_, i) => defaultMaintenanceWindow('acme', `db-${i}`).dayOfWeek));
    assert.equal(days.size, 7);
  });

  test('maintenance upgrades to the newest minor only when the instance opted in', () => {
    assert.deepEqual(planMaintenance({ version: '15.10', spec: { autoMinorUpgrades: true } }), { kind: 'minor', toVersion: '15.13' });
    assert.deepEqual(planMaintenance({ version: '15.10', spec: { autoMinorUpgrades: false } }), { kind: 'security', toVersion: '15.10' });
    assert.deepEqual(planMaintenance({ version: '15.13', spec: { autoMinorUpgrades: true } }), { kind: 'security', toVersion: '15.13' });
  });
});

describe("a window's maintenance", () => {
  const ready = { phase: 'ready', name: 'db', maintenance: null };
  const key = maintenanceWindowKey(window);

  test('a window is named by its day, start and length, so instances of one window share its schedule', () => {
    assert.equal(key, 'wednesday-02:30-3600s');
    assert.equal(maintenanceWindowKey(window, 2000), 'wednesday-02:30-2s');
    assert.notEqual(maintenanceWindowKey({ ...window, durationMinutes: 90 }), key);
  });

  test("a key gives back the window it names, so a window's Schedule can be made again from it", () => {
    assert.deepEqual(windowOfKey(key), { window: { dayOfWeek: 'wednesday', timeOfDay: '02:30' }, windowMs: 3_600_000 });
    assert.deepEqual(windowOfKey('sunday-23:59-2s'), { window: { dayOfWeek: 'sunday', timeOfDay: '23:59' }, windowMs: 2000 });
    for (const day of DAYS_OF_WEEK) {
      const named = windowOfKey(maintenanceWindowKey({ ...window, dayOfWeek: day, durationMinutes: 480 }));
      assert.equal(named && maintenanceWindowKey({ ...named.window, durationMinutes: 30 }, named.windowMs), maintenanceWindowKey({ ...window, dayOfWeek: day, durationMinutes: 480 }));
    }
    for (const notAKey of ['', 'wednesday-02:30', 'wednesday-24:00-60s', 'someday-02:30-60s', 'wednesday-02:30-0s', "wednesday-02:30-60s'"]) {
      assert.equal(windowOfKey(notAKey), null, notAKey);
    }
  });

  test('goes to a ready instance still in that window, and once per opening', () => {
    const opensAt = '2026-11-18T02:30:00Z';
    assert.equal(refuseMaintenance(ready, { window: key, windowOpensAt: opensAt }, key), null);
    assert.equal(refuseMaintenance(ready, {}, key), null, 'a manual run names no window');
    assert.match(refuseMaintenance(ready, { window: 'monday-01:00-3600s' }, key) ?? '', /window of db is now wednesday-02:30-3600s/);
    assert.match(refuseMaintenance({ ...ready, phase: 'provisioning' }, { window: key }, key) ?? '', /is provisioning/);
    assert.match(refuseMaintenance(null, { window: key }, key) ?? '', /still being created/);
    const ran = { ...ready, maintenance: { runId: 'r1', windowOpensAt: opensAt } };
    assert.match(refuseMaintenance(ran, { window: key, windowOpensAt: opensAt }, key) ?? '', /already has maintenance run r1/);
    assert.equal(refuseMaintenance(ran, { window: key, windowOpensAt: '2026-11-25T02:30:00Z' }, key), null, "next week's window");
    assert.equal(refuseMaintenance(ran, {}, key), null);
  });
});

describe('backups that expire', () => {
  const backup = (index: number, purpose: BackupRecord['purpose'], status: BackupRecord['status']): BackupRecord => ({
    name: `b${index}`, purpose, status, requestId: `r${index}`, requestedAt: new Date(Date.UTC(2026, 0, 1, index)).toISOString(),
  });
  const names = (records: BackupRecord[]) => records.map((record) => record.name);

  test('completed backups of the purpose beyond the newest ones kept, oldest first; nothing of another purpose', () => {
    const backups = [
      backup(1, 'scheduled', 'completed'), backup(2, 'on-demand', 'completed'), backup(3, 'scheduled', 'completed'),
      backup(4, 'maintenance', 'completed'), backup(5, 'scheduled', 'completed'), backup(6, 'scheduled', 'running'),
    ];
    assert.deepEqual(names(expiredBackups(backups, 'scheduled', 1).beyondKeep), ['b1', 'b3']);
    assert.deepEqual(names(expiredBackups(backups, 'scheduled', 3).beyondKeep), []);
    assert.deepEqual(names(expiredBackups(backups, 'maintenance', 1).beyondKeep), []);
  });

  test('a failed backup expires once a later one of its purpose completed, not before', () => {
    const backups = [backup(1, 'maintenance', 'failed'), backup(2, 'maintenance', 'completed'), backup(3, 'maintenance', 'failed'), backup(4, 'on-demand', 'failed')];
    assert.deepEqual(names(expiredBackups(backups, 'maintenance', 2).supersededFailures), ['b1']);
    assert.deepEqual(names(expiredBackups(backups.slice(0, 1), 'maintenance', 2).supersededFailures), []);
    assert.deepEqual(names(expiredBackups(backups, 'scheduled', 2).supersededFailures), []);
  });
});
