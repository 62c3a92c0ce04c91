// CPU and memory of processes, from /proc (Linux). A process is measured with its descendants
// (PostgreSQL's backends, a Go server's helpers), and CPU includes children already reaped.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

interface Stat {
  pid: number;
  ppid: number;
  /** user + system + reaped children, seconds */
  cpu: number;
  rssBytes: number;
}

const PAGE = 4096;

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] = state (field 3); utime = field 14 -> index 11
    const n = (i: number) => Number(fields[i]);
    return { pid, ppid: n(1), cpu: (n(11) + n(12) + n(13) + n(14)) / clockTicks(), rssBytes: n(21) * PAGE };
  } catch {
    return undefined;
  }
}

/** CPU of reaped children (cutime + cstime), seconds. */
function childCpu(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / clockTicks();
  } catch {
    return 0;
  }
}

function allStats(): Stat[] {
  const out: Stat[] = [];
  for (const dir of readdirSync('/proc')) {
    const pid = Number(dir);
    if (!Number.isInteger(pid)) continue;
    const s = readStat(pid);
    if (s) out.push(s);
  }
  return out;
}

/** The process and all its descendants. */
function tree(root: number, stats: Stat[]): Stat[] {
  const children = new Map<number, Stat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const rootStat = stats.find((s) => s.pid === root);
  if (!rootStat) return [];
  const out: Stat[] = [];
  const queue = [rootStat];
  while (queue.length > 0) {
    const s = queue.shift()!;
    out.push(s);
    queue.push(...(children.get(s.pid) ?? []));
  }
  return out;
}

export interface Usage {
  cpuSeconds: number;
  rssBytes: number;
}

/** Measured alone, without descendants (the bench process is the parent of everything it spawns). */
const SELF_ONLY = new Set(['bench']);

/** CPU seconds so far and RSS now of each named process tree. */
export function sampleUsage(pids: Record<string, number | undefined>): Record<string, Usage> {
  const stats = allStats();
  const out: Record<string, Usage> = {};
  for (const [name, pid] of Object.entries(pids)) {
    if (pid === undefined) continue;
    const t = SELF_ONLY.has(name) ? stats.filter((s) => s.pid === pid).map((s) => ({ ...s, cpu: s.cpu - childCpu(pid) })) : tree(pid, stats);
    if (t.length === 0) continue; // gone: the meter keeps what it saw last
    out[name] = { cpuSeconds: t.reduce((a, s) => a + s.cpu, 0), rssBytes: t.reduce((a, s) => a + s.rssBytes, 0) };
  }
  return out;
}

/** The most resident memory one process (not its descendants) has held since it started: the kernel's VmHWM, in MiB. */
export function rssHighWaterMiB(pid: number): number {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kib === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return round(Number(kib) / 1024, 1);
}

/** CPU seconds a usage report's processes spent together, leaving out the ones named. */
export function totalCpuSeconds(report: { processes: Record<string, { cpuSeconds: number }> }, except: string[] = []): number {
  return Object.entries(report.processes).reduce((sum, [name, usage]) => sum + (except.includes(name) ? 0 : usage.cpuSeconds), 0);
}

export interface UsageReport {
  /** CPU seconds used over the interval. */
  cpuSeconds: number;
  /** Average share of one core over the interval (1.0 = one core busy). */
  cores: number;
  rssEndMiB: number;
  rssPeakMiB: number;
}

/**
 * Measures named processes over an interval: CPU at start and end, RSS sampled every `everyMs`.
 * `stop()` returns per-process reports plus the machine-wide CPU of the interval (/proc/stat).
 */
export function startUsageMeter(pids: Record<string, number | undefined>, everyMs = 1000) {
  const t0 = performance.now();
  const first = sampleUsage(pids);
  const machine0 = machineCpu();
  const peak: Record<string, number> = Object.fromEntries(Object.entries(first).map(([k, u]) => [k, u.rssBytes]));
  // A process that exits during the interval keeps the CPU it had when last seen.
  const lastCpu: Record<string, number> = {};
  const timer = setInterval(() => {
    for (const [k, u] of Object.entries(sampleUsage(pids))) {
      peak[k] = Math.max(peak[k] ?? 0, u.rssBytes);
      lastCpu[k] = Math.max(lastCpu[k] ?? 0, u.cpuSeconds);
    }
  }, everyMs);
  timer.unref();
  return {
    stop(): { seconds: number; processes: Record<string, UsageReport>; machine: { busyCores: number; cores: number; otherCores: number } } {
      clearInterval(timer);
      const seconds = (performance.now() - t0) / 1000;
      const last = sampleUsage(pids);
      const machine1 = machineCpu();
      const processes: Record<string, UsageReport> = {};
      for (const k of new Set([...Object.keys(last), ...Object.keys(lastCpu)])) {
        const u = last[k] ?? { cpuSeconds: lastCpu[k] ?? 0, rssBytes: 0 };
        const cpu = Math.max(u.cpuSeconds, lastCpu[k] ?? 0) - (first[k]?.cpuSeconds ?? 0);
        processes[k] = {
          cpuSeconds: round(cpu, 2),
          cores: round(cpu / seconds, 3),
          rssEndMiB: round(u.rssBytes / 2 ** 20, 1),
          rssPeakMiB: round(Math.max(peak[k] ?? 0, u.rssBytes) / 2 ** 20, 1),
        };
      }
      const busy = machine1.busy - machine0.busy;
      const total = machine1.total - machine0.total;
      const busyCores = (busy / Math.max(1, total)) * machine1.cores;
      // CPU of everything not measured here: other users of the machine (a noisy host)
      const ours = Object.values(processes).reduce((a, p) => a + p.cores, 0);
      return { seconds, processes, machine: { busyCores: round(busyCores, 2), cores: machine1.cores, otherCores: round(Math.max(0, busyCores - ours), 2) } };
    },
  };
}

function machineCpu(): { busy: number; total: number; cores: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const f = lines[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total, cores: lines.filter((l) => /^cpu\d/.test(l)).length };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * CPU seconds so far of each thread of a process. Node names every thread it starts `node` (the
 * workflow threads, V8's helpers and the SDK's Rust runtime alike), so a thread is keyed by its
 * name and its id's distance from the process id, which follows creation order and stays put while
 * threads come and go (`node#3`); the main thread is `main`.
 */
export function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
      try {
        const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
        const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
        out[tid === pid ? 'main' : `${comm}#${tid - pid}`] = (Number(f[11]) + Number(f[12])) / clockTicks();
      } catch {
        // thread gone
      }
    }
  } catch {
    // process gone
  }
  return out;
}

export function threadCpuDelta(before: Record<string, number>, after: Record<string, number>, seconds: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, round((v - (before[k] ?? 0)) / seconds, 3)] as const)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1]),
  );
}
