// The start protocol every stack process follows, so `up` is idempotent and fails clearly:
//   1. our recorded pid is alive, runs our command and is healthy  -> "already running", no change
//   2. otherwise each of its ports must be free; a port held by something else is an error that
//      names the port and the component (we never fight a foreign process for it)
//   3. start it detached, then wait for health, failing fast (with the log tail) if it exits;
//      a throwaway stack (tests, benches) starts a process that exited once more, and says so
import { relative } from 'node:path';
import type { StackConfig } from './config.js';
import { forgetProcess, isAlive, isOurs, readProcess, startProcess, type ProcessRecord, type ProcessSpec } from './processes.js';
import { logTail, portInUse, StackError, startupFailure, throwIfAborted, waitFor } from './util.js';

export interface Supervised {
  /** Pid/log file name, e.g. "kube-apiserver". */
  name: string;
  /** Human name used in messages, e.g. "kube-apiserver". */
  title: string;
  ports: { port: number; label: string }[];
  spec: () => ProcessSpec;
  healthy: (record: ProcessRecord) => Promise<boolean>;
  timeoutMs: number;
}

export interface Ensured {
  record: ProcessRecord;
  state: 'started' | 'already running';
  /** Why the first start exited, when a throwaway stack had to start it twice. */
  firstStartExited?: string;
}

/** A path as the user would type it: relative to the repo when inside it. */
export function shown(config: StackConfig, file: string): string {
  const rel = relative(config.rootDir, file);
  return rel.startsWith('..') ? file : rel;
}

export async function ensureRunning(config: StackConfig, s: Supervised, signal?: AbortSignal): Promise<Ensured> {
  const existing = readProcess(config.stateDir, s.name);
  const hint = `see ${shown(config, existing?.logFile ?? `${config.stateDir}/logs/${s.name}.log`)}`;
  if (existing && isOurs(existing)) {
    // Ours and alive: it may still be starting (an earlier `up` was interrupted), so give it the
    // normal time to become healthy rather than starting a second copy.
    await waitFor(() => s.healthy(existing), {
      what: `${s.title} (pid ${existing.pid}, already running)`,
      timeoutMs: s.timeoutMs,
      hint: `${hint}; \`npm run down\` stops it`,
      signal,
      fatal: () => (isAlive(existing.pid) ? undefined : `exited\n${logTail(existing.logFile)}`),
    });
    return { record: existing, state: 'already running' };
  }
  if (existing) forgetProcess(config.stateDir, s.name); // stale: the process is gone

  for (const { port, label } of s.ports) {
    if (await portInUse(port)) {
      throw new StackError(
        `port ${port} (${label}) is already in use by a process this stack did not start; ` +
          `${s.title} cannot start. Stop whatever listens on 127.0.0.1:${port} (e.g. \`ss -ltnp 'sport = :${port}'\`) and retry.`,
      );
    }
  }

  const first = await startAndWait(config, s, signal);
  if (first.ok) return { record: first.record, state: 'started' };
  // A throwaway stack's servers pick free ports as they start (Temporal's dev server picks more
  // of its own), and such a pick can lose a race with another process; a start that exits is
  // tried once more there, and says so. The developer stack's ports are fixed: it fails at once.
  if (!config.ephemeral) throw first.error;
  const firstStartExited = startupFailure(first.record.logFile); // before the next start's log lines
  forgetProcess(config.stateDir, s.name);
  const second = await startAndWait(config, s, signal);
  if (!second.ok) throw second.error;
  return { record: second.record, state: 'started', firstStartExited };
}

type Started = { ok: true; record: ProcessRecord } | { ok: false; record: ProcessRecord; error: StackError };

/** Starts the process and waits for health; a start that exits is returned, anything else thrown. */
async function startAndWait(config: StackConfig, s: Supervised, signal?: AbortSignal): Promise<Started> {
  throwIfAborted(signal);
  const record = await startProcess(config.stateDir, s.spec());
  try {
    await waitFor(() => s.healthy(record), {
      what: `${s.title} (pid ${record.pid})`,
      timeoutMs: s.timeoutMs,
      hint: `see ${shown(config, record.logFile)}`,
      signal,
      fatal: () => (isAlive(record.pid) ? undefined : `exited during start-up; last log lines:\n${logTail(record.logFile)}`),
    });
    return { ok: true, record };
  } catch (error) {
    if (error instanceof StackError && !isAlive(record.pid)) return { ok: false, record, error };
    throw error;
  }
}
