// Small helpers shared by the stack modules: polling with a deadline, running a command to
// completion, probing ports, and reading the tail of a log for error messages.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

export class StackError extends Error {
  override name = 'StackError';
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((ok, fail) => {
    if (signal?.aborted) return fail(abortError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      ok();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      fail(abortError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new StackError('stack start aborted');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

export interface WaitOptions {
  /** What is being waited for, used in the timeout message. */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Appended to the timeout message, e.g. "see .local/logs/etcd.log". */
  hint?: string;
  signal?: AbortSignal;
  /** Checked each round; a string ends the wait with that error (e.g. the process died). */
  fatal?: () => string | undefined;
}

/** Polls `check` until it returns true; errors thrown by `check` count as "not yet". */
export async function waitFor(check: () => Promise<boolean> | boolean, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    throwIfAborted(opts.signal);
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    const fatal = opts.fatal?.();
    if (fatal !== undefined) throw new StackError(`${opts.what}: ${fatal}${opts.hint ? ` (${opts.hint})` : ''}`);
    if (Date.now() > deadline) {
      throw new StackError(`${opts.what}: not ready after ${Math.round(opts.timeoutMs / 1000)}s${opts.hint ? ` (${opts.hint})` : ''}`);
    }
    await sleep(opts.intervalMs ?? 200, opts.signal);
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion without a shell; never throws for a non-zero exit. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((ok, fail) => {
    execFile(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000, cwd: opts.cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number' && !error.killed) return fail(new StackError(`${cmd}: ${error.message}`));
      ok({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Like run, but a non-zero exit is an error carrying the command's stderr. */
export async function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new StackError(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect({ port, host });
    const done = (inUse: boolean) => {
      socket.destroy();
      ok(inUse);
    };
    socket.setTimeout(1000, () => done(true)); // something holds it but does not answer
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Begins the line a process's log gets each time the stack starts it (processes.ts). */
export const START_MARK = '==== ';

/** Last lines of a log file, indented, for error messages. */
export function logTail(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  const all = readFileSync(file, 'utf8').trimEnd().split('\n');
  const tail = all.slice(-lines);
  // A Go server that panics ends its log with goroutine stacks; the cause is the line above them.
  const thisStart = all.slice(all.findLastIndex((l) => l.startsWith(START_MARK)) + 1, -lines);
  const cause = thisStart.findLast((l) => /^(panic|fatal error): /.test(l));
  return [...(cause ? [cause, '...'] : []), ...tail].map((l) => `    ${l}`).join('\n');
}

/** One line on why a process stopped during start-up: a Go panic's cause, or its last log line. */
export function startupFailure(file: string): string {
  // With a Go panic logTail puts its cause first; otherwise its one line is the last one logged.
  return logTail(file, 1).split('\n')[0]?.trim() || 'nothing logged';
}

/**
 * The Go servers' garbage collector ran at its default pace (GOGC=100) and took 12-15 % of
 * Temporal's and kube-apiserver's CPU in a fleet maintenance profile (BENCHMARKS.md). Collecting at
 * five times the live heap instead of twice trades memory, which this machine has, for CPU, which
 * it has not. A GOGC in the user's environment still wins.
 */
const GO_SERVER_GOGC = '400';

/** The environment of a Go server of the stack: cleanEnv() plus its collector's pace. */
export const goServerEnv = (): NodeJS.ProcessEnv => cleanEnv({ GOGC: process.env.GOGC ?? GO_SERVER_GOGC });

/** The environment minus variables that would silently redirect a client CLI elsewhere. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('TEMPORAL_') || k === 'KUBECONFIG' || k === 'DATABASE_URL') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}
