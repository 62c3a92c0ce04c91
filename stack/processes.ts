// Long-running stack processes: started detached in their own process group (so they outlive the
// `up` command and a stop can reach their children, e.g. tsx's node child), output appended to
// <state>/logs/<name>.log, pid in <state>/pids/<name>.pid.
//
// Next to each pid file, <name>.json records the argv we started and where the log stood at
// start. Stopping re-reads /proc/<pid>/cmdline and only signals a pid that still runs that
// command: a stale pid file after a reboot must never make `down` kill an unrelated process.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sleep, StackError, START_MARK } from './util.js';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface ProcessRecord {
  name: string;
  pid: number;
  argv: string[];
  logFile: string;
  /** Log size when this process started: readiness lines are searched after it only. */
  logOffset: number;
  startedAt: string;
}

const pidDir = (stateDir: string) => join(stateDir, 'pids');
export const pidFile = (stateDir: string, name: string) => join(pidDir(stateDir), `${name}.pid`);
const recordFile = (stateDir: string, name: string) => join(pidDir(stateDir), `${name}.json`);
export const logFile = (stateDir: string, name: string) => join(stateDir, 'logs', `${name}.log`);

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Starts a detached process and records it; resolves once the OS has spawned it. */
export async function startProcess(stateDir: string, spec: ProcessSpec): Promise<ProcessRecord> {
  mkdirSync(pidDir(stateDir), { recursive: true });
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const log = logFile(stateDir, spec.name);
  const fd = openSync(log, 'a');
  const logOffset = fstatSync(fd).size;
  writeFileSync(fd, `\n${START_MARK}${new Date().toISOString()} starting ${spec.name}: ${[spec.command, ...spec.args].join(' ')}\n`);
  const readyFrom = fstatSync(fd).size;
  try {
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', fd, fd] });
    await new Promise<void>((ok, fail) => {
      child.once('spawn', ok);
      child.once('error', (e) => fail(new StackError(`cannot start ${spec.name} (${spec.command}): ${e.message}`)));
    });
    // The stack must not keep `up` (or the test harness) alive, nor die with it.
    child.unref();
    const record: ProcessRecord = {
      name: spec.name,
      pid: child.pid!,
      argv: [spec.command, ...spec.args],
      logFile: log,
      logOffset: Math.max(logOffset, readyFrom),
      startedAt: new Date().toISOString(),
    };
    writeAtomic(recordFile(stateDir, spec.name), JSON.stringify(record, null, 2) + '\n');
    writeAtomic(pidFile(stateDir, spec.name), `${record.pid}\n`);
    return record;
  } finally {
    closeSync(fd);
  }
}

/** The record `up` wrote for this process, if any. */
export function readProcess(stateDir: string, name: string): ProcessRecord | undefined {
  const pf = pidFile(stateDir, name);
  if (!existsSync(pf)) return undefined;
  const pid = Number.parseInt(readFileSync(pf, 'utf8').trim(), 10);
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  const rf = recordFile(stateDir, name);
  if (existsSync(rf)) {
    const record = JSON.parse(readFileSync(rf, 'utf8')) as ProcessRecord;
    if (record.pid === pid) return record;
  }
  // A pid file without its record (hand-written, or an older layout): no command to verify.
  return { name, pid, argv: [], logFile: logFile(stateDir, name), logOffset: 0, startedAt: '' };
}

export function forgetProcess(stateDir: string, name: string): void {
  rmSync(pidFile(stateDir, name), { force: true });
  rmSync(recordFile(stateDir, name), { force: true });
}

/** Alive = the pid exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // state is the field after "(comm)"; comm may itself contain spaces or parentheses
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function cmdlineOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s, i, all) => s !== '' || i < all.length - 1);
  } catch {
    return undefined;
  }
}

/**
 * Does this pid still run the command we started? Our arguments must end the live command line,
 * and the program must appear in it by name: a script such as node_modules/.bin/tsx shows up as
 * `node /abs/node_modules/.bin/tsx <args>` after the kernel resolves its shebang.
 */
export function runsRecordedCommand(record: ProcessRecord): boolean {
  if (record.argv.length === 0) return false;
  const live = cmdlineOf(record.pid);
  if (!live) return false;
  const [program, ...args] = record.argv as [string, ...string[]];
  if (live.length < args.length) return false;
  const tail = live.slice(live.length - args.length);
  if (!args.every((a, i) => tail[i] === a)) return false;
  const head = live.slice(0, live.length - args.length);
  return head.some((p) => p === program || basename(p) === basename(program));
}

/** Alive and still ours. */
export function isOurs(record: ProcessRecord): boolean {
  return isAlive(record.pid) && runsRecordedCommand(record);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

export type StopOutcome = 'stopped' | 'killed' | 'not running' | 'not ours';

/**
 * Stops the process `up` recorded under this name: SIGTERM to its process group, SIGKILL after
 * the grace period. A pid that no longer runs our command is left alone (reported "not ours").
 * The pid file is removed in every case: afterwards it would only be stale.
 */
export async function stopProcess(stateDir: string, name: string, graceMs = 10_000): Promise<StopOutcome> {
  const record = readProcess(stateDir, name);
  if (!record) return 'not running';
  let outcome: StopOutcome;
  if (!isAlive(record.pid)) {
    outcome = 'not running';
  } else if (!runsRecordedCommand(record)) {
    outcome = 'not ours';
  } else {
    // detached: true made the process a group leader, so its pid is the group id
    signalGroup(record.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (groupAlive(record.pid) && Date.now() < deadline) await sleep(100);
    if (groupAlive(record.pid)) {
      signalGroup(record.pid, 'SIGKILL');
      const killDeadline = Date.now() + 5000;
      while (groupAlive(record.pid) && Date.now() < killDeadline) await sleep(50);
      outcome = 'killed';
    } else {
      outcome = 'stopped';
    }
  }
  forgetProcess(stateDir, name);
  return outcome;
}

/** Has the process printed `line` since it started? (readiness for services without a probe) */
export function logContainsSinceStart(record: ProcessRecord, line: string): boolean {
  return logContainsSince(record.logFile, record.logOffset, line);
}

/** Does `file` hold `line` past `offset`? A log is appended to by every start of the same name. */
export function logContainsSince(file: string, offset: number, line: string): boolean {
  if (!existsSync(file)) return false;
  return readFileSync(file).subarray(offset).toString('utf8').includes(line);
}

/**
 * Pids (other than this process) whose environment contains NAME=value. The harness gives every
 * test process CLAIMFLOW_STACK_DIR=<its unique temp dir>, so this finds whatever a test run
 * spawned, however deep, and nothing else (e.g. a worker a test forgot to stop).
 */
export function pidsWithEnv(name: string, value: string): number[] {
  const entry = Buffer.from(`${name}=${value}\0`); // each environ entry ends with NUL
  const inner = Buffer.concat([Buffer.from('\0'), entry]);
  const pids: number[] = [];
  for (const dir of readdirSync('/proc')) {
    const pid = Number(dir);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`);
      if (environ.subarray(0, entry.length).equals(entry) || environ.includes(inner)) pids.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** SIGTERM, then SIGKILL whatever is still alive after the grace period. */
export async function terminatePids(pids: number[], graceMs = 5000): Promise<void> {
  const signal = (pid: number, s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  pids.forEach((pid) => signal(pid, 'SIGTERM'));
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
  pids.filter(isAlive).forEach((pid) => signal(pid, 'SIGKILL'));
}
