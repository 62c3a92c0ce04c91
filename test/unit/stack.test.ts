import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freePortPair, freePorts, localStackConfig, paths, type StackConfig } from '../../stack/config.js';
import { stopProcess } from '../../stack/processes.js';
import { ensureRunning, type Supervised } from '../../stack/supervise.js';
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

describe('the ports a throwaway stack takes', () => {
  test('are distinct and below the range the kernel hands out, where the dev server picks its own', async () => {
    const ephemeralFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports = await freePorts(20);
    assert.equal(new Set(ports).size, 20);
    for (const port of ports) assert.ok(port >= 14_000 && port < ephemeralFrom, `${port}`);
    const pair = await freePortPair();
    assert.ok(pair + 1 < ephemeralFrom);
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

describe('a process that exits during start-up', () => {
  /**
   * A stand-in server: its first start logs a Go-style panic and exits; later starts stay up.
   * Healthy once it has written its ready file.
   */
  function flakyServer(config: StackConfig): Supervised {
    const started = join(config.stateDir, 'started-once');
    const ready = join(config.stateDir, 'ready');
    const script = `const fs = require('node:fs');
      if (!fs.existsSync(${JSON.stringify(started)})) { fs.writeFileSync(${JSON.stringify(started)}, ''); console.log('panic: failed assigning ephemeral port: lost a race'); console.log('goroutine 1 [running]:'); process.exit(2); }
      fs.writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000);`;
    return {
      name: 'flaky', title: 'flaky server', ports: [], timeoutMs: 10_000,
      spec: () => ({ name: 'flaky', command: process.execPath, args: ['-e', script], env: {}, cwd: config.stateDir }),
      healthy: () => Promise.resolve(existsSync(ready)),
    };
  }

  test('a throwaway stack starts it once more and reports why the first start exited', async () => {
    const config = { ...localStackConfig('/nonexistent-toolchain', join(scratch, 'throwaway')), ephemeral: true };
    mkdirSync(config.stateDir, { recursive: true });
    try {
      const ensured = await ensureRunning(config, flakyServer(config));
      assert.equal(ensured.state, 'started');
      assert.equal(ensured.firstStartExited, 'panic: failed assigning ephemeral port: lost a race');
    } finally {
      await stopProcess(config.stateDir, 'flaky', 2000);
    }
  });

  test('the developer stack fails at once, with the cause', async () => {
    const config = localStackConfig('/nonexistent-toolchain', join(scratch, 'developer'));
    mkdirSync(config.stateDir, { recursive: true });
    try {
      await assert.rejects(ensureRunning(config, flakyServer(config)), (error: Error) => {
        assert.match(error.message, /exited during start-up[\s\S]*panic: failed assigning ephemeral port/);
        return true;
      });
    } finally {
      await stopProcess(config.stateDir, 'flaky', 2000);
    }
  });
});
