import { patched } from '@temporalio/workflow';

/** Patches up to a point, answered by one baseline patch. */
export interface PatchGeneration<Id extends string> {
  baseline: string;
  ids: readonly Id[];
}

/**
 * A workflow type's patches, in generations, each answered by its baseline patch.
 *
 * Why: the first time a run asks `patched(id)`, the SDK records a marker and upserts the
 * TemporalChangeVersion search attribute, and the server writes each upsert to its visibility
 * store. A fleet maintenance profile of the dev server spent a fifth of its CPU on visibility
 * writes (BENCHMARKS.md); an instance asked nine patches in a run and each maintenance run two.
 * A run that records the newest baseline takes every branch of every generation without asking
 * them: one marker.
 *
 * An id is taken when the baseline of its own generation or of a later one was recorded, or the
 * id itself (runs recorded before any baseline asked each id). Asked newest first, so a new run
 * records only the newest baseline; a run that recorded an older baseline replays without the
 * newer ones and takes none of their ids. A run still live when it first asks a baseline has asked
 * none of its ids live either, and each would answer true. Patches added later must not join an
 * existing generation (a run that recorded its baseline did not take their branch): they start
 * the next one.
 */
export function patchGenerations<Id extends string>(generations: readonly PatchGeneration<Id>[]): (id: Id) => boolean {
  const generationOf = new Map<string, number>();
  generations.forEach(({ ids }, index) => ids.forEach((id) => generationOf.set(id, index)));
  return (id) => {
    const first = generationOf.get(id);
    if (first === undefined) throw new Error(`patch ${id} is in no generation of ${generations.map(({ baseline }) => baseline).join(', ')}`);
    for (let index = generations.length - 1; index >= first; index--) {
      if (patched(generations[index]!.baseline)) return true;
    }
    return patched(id);
  };
}

/** One generation: a workflow type's patches up to one baseline. */
export function patchSet<Id extends string>(baseline: string, ids: readonly Id[]): (id: Id) => boolean {
  return patchGenerations([{ baseline, ids }]);
}
