import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import proto from '@temporalio/proto';

const { temporal } = proto;
import { Worker } from '@temporalio/worker';
import { HISTORY_FIXTURES } from '../support/histories.js';
import { workflowBundle } from '../support/lifecycle.js';

// Recorded histories (test/fixtures/histories, recorded with RECORD_HISTORY=<name>, see
// durability.test.ts) replayed against the current workflow code: a change that would break
// running instances fails here. Such a change needs patched() instead.

for (const file of readdirSync(HISTORY_FIXTURES).filter((name) => name.endsWith('.binpb'))) {
  test(`replays ${file} without non-determinism`, async () => {
    const history = temporal.api.history.v1.History.decode(readFileSync(join(HISTORY_FIXTURES, file)));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
  });
}
