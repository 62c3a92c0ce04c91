// Watchdog for a throwaway stack. The test harness tears its stack down on exit, Ctrl-C and
// SIGTERM, but nothing runs on SIGKILL (a tool's timeout, the OOM killer): the detached etcd,
// apiserver and Temporal would then run forever. The reaper is a small detached process that
// polls the harness's pid; when the harness is gone and the stack still exists, it does the
// teardown itself (processes tests left behind, the stack, the database, the temp dir).
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, type StackConfig } from './config.js';

/** The environment variable (set to the stack dir) that marks every process of a test run. */
export const RUN_MARKER = 'CLAIMFLOW_STACK_DIR';

export function startReaper(config: StackConfig, ownerPid: number = process.pid): number {
  mkdirSync(paths(config).logs, { recursive: true });
  const configFile = join(config.stateDir, 'stack.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const log = openSync(paths(config).log('reaper'), 'a');
  const env = { ...process.env };
  delete env[RUN_MARKER]; // the reaper must not count as one of the run's leftovers
  const child = spawn(process.execPath, ['--import', 'tsx', join(config.rootDir, 'stack', 'reaper-main.ts'), String(ownerPid), configFile], {
    cwd: config.rootDir,
    env,
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  return child.pid!;
}
