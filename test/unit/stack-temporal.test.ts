import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { localStackConfig, paths } from '../../stack/config.js';
import { temporalComponent } from '../../stack/temporal.js';
import { logTail, START_MARK } from '../../stack/util.js';

const scratch = mkdtempSync(join(tmpdir(), 'claimflow-stack-unit-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A developer stack rooted in its own scratch folder: `.local` is under it. */
function stackIn(name: string) {
  const config = localStackConfig('/nonexistent-toolchain', join(scratch, name));
  const partitionValues = () => temporalComponent(config).spec().args.filter((arg) => arg.startsWith('matching.numTaskqueue'));
  return { config, partitionValues };
}

describe('the local Temporal server and its task queue partitions', () => {
  test('a new database gets one partition per task queue, and keeps it on the next start', () => {
    const { config, partitionValues } = stackIn('fresh');
    const one = ['matching.numTaskqueueReadPartitions=1', 'matching.numTaskqueueWritePartitions=1'];
    assert.deepEqual(partitionValues(), one);
    writeFileSync(paths(config).temporalDb, ''); // the server created its database
    assert.deepEqual(partitionValues(), one);
  });

  test('a database from before the setting keeps the server default, so no waiting task is stranded in partitions 1-3', () => {
    const { config, partitionValues } = stackIn('older');
    const { temporalDb, temporalPartitionsMarker } = paths(config);
    mkdirSync(config.stateDir, { recursive: true });
    writeFileSync(temporalDb, '');
    assert.deepEqual(partitionValues(), []);
    assert.equal(existsSync(temporalPartitionsMarker), false);
  });
});

describe('logTail', () => {
  const log = (name: string, lines: string[]) => {
    const file = join(scratch, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };
  const frames = (n: number) => Array.from({ length: n }, (_, i) => `\tframe ${i}`);

  test("shows a Go panic's cause above the goroutine stacks that fill the last lines", () => {
    const file = log('panicked.log', [`${START_MARK}t starting temporal`, 'starting up', 'panic: failed assigning ephemeral port: no', '', 'goroutine 1 [running]:', ...frames(30)]);
    const shown = logTail(file).split('\n').map((line) => line.trim());
    assert.equal(shown[0], 'panic: failed assigning ephemeral port: no');
    assert.equal(shown[1], '...');
    assert.equal(shown.at(-1), 'frame 29');
    assert.equal(shown.length, 2 + 15);
  });

  test("leaves out a panic from an earlier start of the same process", () => {
    const file = log('restarted.log', [`${START_MARK}t1 starting temporal`, 'panic: old', ...frames(3), `${START_MARK}t2 starting temporal`, ...frames(20)]);
    assert.equal(logTail(file).includes('panic'), false);
  });
});
