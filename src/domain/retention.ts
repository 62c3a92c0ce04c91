import type { BackupRecord } from './state.js';

// Which backups claimflow deletes on its own. Only automatic ones (scheduled, maintenance): what a
// person asked for stays until a person deletes it.

/** A maintenance backup is the way back from that window's upgrade; the last two windows' are kept. */
export const MAINTENANCE_BACKUPS_KEPT = 2;

export interface Expired {
  /** Completed backups of the purpose beyond the newest `keep`, oldest first. */
  beyondKeep: BackupRecord[];
  /** Failed backups of the purpose older than its newest completed one: nothing to restore, and superseded. */
  supersededFailures: BackupRecord[];
}

export function expiredBackups(backups: readonly BackupRecord[], purpose: 'scheduled' | 'maintenance', keep: number): Expired {
  const completed = backups.filter((backup) => backup.purpose === purpose && backup.status === 'completed');
  const newest = completed.at(-1);
  return {
    beyondKeep: completed.slice(0, Math.max(0, completed.length - keep)),
    supersededFailures: newest
      ? backups.filter((backup) => backup.purpose === purpose && backup.status === 'failed' && backup.requestedAt < newest.requestedAt)
      : [],
  };
}
