import { patchSet } from '../patch-set.js';

/**
 * Every patch of the instance workflow up to one baseline: a run asks one (see patchSet). The last
 * two came with the baseline itself, so no recorded run holds the baseline without them.
 */
export const instancePatched = patchSet('instance-patches-2026-11', [
  'instance-schedules',
  'schedules-alongside-readiness',
  'notifications',
  'report-scheduled-work',
  'slot-release-by-signal',
  'slot-release-by-activity',
  'projection-alongside-cluster-work',
  'local-steps',
  'one-activity-per-cluster-step',
  'report-by-local-activity',
  'phase-upsert-only-when-it-differs',
] as const);
