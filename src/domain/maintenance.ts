import { majorOf, newestMinorOf, planUpgrade } from './catalog.js';
import type { MaintenanceWindow } from './schemas.js';
import { DAYS_OF_WEEK } from './spec.js';

// When a user names no window, one is derived from the instance's identity: stable across
// restarts and rebuilds, and spread over the week so a fleet never restarts all at once.

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Windows start on the half hour between 00:00 and 05:30 UTC, the quietest hours for most fleets. */
export function defaultMaintenanceWindow(tenant: string, instanceName: string): MaintenanceWindow {
  const hash = fnv1a(`${tenant}/${instanceName}`);
  const day = DAYS_OF_WEEK[hash % 7] ?? 'sunday';
  const slot = Math.floor(hash / 7) % 12;
  const hours = String(Math.floor(slot / 2)).padStart(2, '0');
  return { dayOfWeek: day, timeOfDay: `${hours}:${slot % 2 === 0 ? '00' : '30'}`, durationMinutes: 60 };
}

const MINUTE = 60_000;

/** How long a window stays open; `windowMs` overrides its length (tests use seconds). */
export function windowLengthMs(window: MaintenanceWindow, windowMs?: number): number {
  return windowMs ?? window.durationMinutes * MINUTE;
}

/**
 * The fleet's maintenance Schedules are one per window, not one per instance: every instance with
 * the same start and length shares its window's Schedule, and the window's run sends each of them
 * the maintenance Update (BENCHMARKS.md: a Schedule and a run workflow per instance cost a fleet's
 * window about a quarter of its CPU). This key names the window, in the instance's search
 * attribute and in the Schedule's id. `windowMs` overrides the length (tests use seconds).
 */
export function maintenanceWindowKey(window: MaintenanceWindow, windowMs?: number): string {
  const seconds = Math.round(windowLengthMs(window, windowMs) / 1000);
  return `${window.dayOfWeek}-${window.timeOfDay}-${seconds}s`;
}

/** A window as its key names it: its start, and its length in ms (the key keeps seconds). */
export interface KeyedWindow {
  window: Pick<MaintenanceWindow, 'dayOfWeek' | 'timeOfDay'>;
  windowMs: number;
}

const WINDOW_KEY = new RegExp(`^(${DAYS_OF_WEEK.join('|')})-((?:[01]\\d|2[0-3]):[0-5]\\d)-(\\d+)s$`);

/**
 * The window a key names, or null for what is not a key: a window's Schedule can be made again
 * from the key alone (the instances' search attribute), with the same id and the same runs.
 */
export function windowOfKey(key: string): KeyedWindow | null {
  const match = WINDOW_KEY.exec(key);
  if (!match) return null;
  const [, dayOfWeek, timeOfDay, seconds] = match as unknown as [string, MaintenanceWindow['dayOfWeek'], string, string];
  const windowMs = Number(seconds) * 1000;
  return windowMs > 0 ? { window: { dayOfWeek, timeOfDay }, windowMs } : null;
}

const WEEK = 7 * 24 * 60 * MINUTE;

/**
 * The start of the next window: the one open now (if maintenance has not run in it yet), else the
 * next one. `lastRunAt` is when the latest maintenance run opened, if any.
 */
export function nextMaintenanceAt(window: MaintenanceWindow, now: Date, lastRunAt?: string): Date {
  const [hours, minutes] = window.timeOfDay.split(':').map(Number) as [number, number];
  // getUTCDay: 0 = Sunday; DAYS_OF_WEEK starts on Monday.
  const targetDay = (DAYS_OF_WEEK.indexOf(window.dayOfWeek) + 1) % 7;
  const candidate = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hours, minutes));
  candidate.setUTCDate(candidate.getUTCDate() + ((targetDay - candidate.getUTCDay() + 7) % 7));
  // This week's window may have started before today's date rolled over into it: look one week back too.
  const previous = new Date(candidate.getTime() - WEEK);
  const open = [previous, candidate].find((start) => start.getTime() <= now.getTime() && now.getTime() < start.getTime() + window.durationMinutes * MINUTE);
  if (open) {
    const ranInIt = lastRunAt !== undefined && Date.parse(lastRunAt) >= open.getTime();
    return ranInIt ? new Date(open.getTime() + WEEK) : open;
  }
  return candidate.getTime() > now.getTime() ? candidate : new Date(candidate.getTime() + WEEK);
}

/** What a maintenance run will do to an instance: the newest minor if opted in, else security patches. */
export function planMaintenance(state: { version: string | null; spec: { autoMinorUpgrades: boolean } }):
  { kind: 'minor'; toVersion: string } | { kind: 'security'; toVersion: string } {
  const version = state.version ?? '';
  const newest = newestMinorOf(majorOf(version));
  if (state.spec.autoMinorUpgrades && newest && planUpgrade(version, newest).ok) return { kind: 'minor', toVersion: newest };
  return { kind: 'security', toVersion: version };
}
