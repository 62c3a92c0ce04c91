import { patched } from '@temporalio/workflow';

/**
 * A workflow type's patches up to a point, answered by one baseline patch.
 *
 * Why: the first time a run asks `patched(id)`, the SDK records a marker and upserts the
 * TemporalChangeVersion search attribute, and the server writes each upsert to its visibility
 * store. A fleet maintenance profile of the dev server spent a fifth of its CPU on visibility
 * writes (BENCHMARKS.md); an instance asked nine patches in a run and each maintenance run two.
 * A run that records the baseline takes every branch of `ids` without asking them: one marker.
 *
 * Runs recorded before the baseline existed do not hold its marker, so on replay each id is asked
 * as before. A run still live when it first asks has asked none of `ids` live either, and each
 * would answer true. Patches added after the baseline must not join `ids`: a run that recorded
 * the baseline did not take their branch. Ask them with `patched()` (or start a new set).
 */
export function patchSet<Id extends string>(baseline: string, ids: readonly Id[]): (id: Id) => boolean {
  const known = new Set<string>(ids);
  return (id) => {
    if (!known.has(id)) throw new Error(`patch ${id} is not in the set of ${baseline}`);
    return patched(baseline) || patched(id);
  };
}
