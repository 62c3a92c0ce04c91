import { patchGenerations } from '../patch-set.js';

/**
 * Every patch of the instance workflow, by generation: a run asks one baseline (see
 * patchGenerations). The last two of the first generation came with its baseline, so no recorded
 * run holds that baseline without them.
 */
export const instancePatched = patchGenerations([
  {
    baseline: 'instance-patches-2026-11',
    ids: [
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
    ],
  },
  {
    baseline: 'instance-patches-2026-12',
    ids: ['projection-before-each-step'],
  },
  {
    baseline: 'instance-patches-2026-12-06',
    ids: ['schedules-by-local-activity'],
  },
  {
    baseline: 'instance-patches-2026-12-06b',
    ids: ['claim-apply-by-local-activity'],
  },
] as const);
