// Percentiles, the printed table and the JSON file each bench writes to bench/results/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../stack/index.js';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return {
    n: sorted.length,
    min: round(sorted[0] ?? NaN),
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? NaN),
    mean: round(mean),
  };
}

export const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

export type Row = Record<string, string | number | boolean | null | undefined>;

/** A plain-text table: first row's keys are the columns. */
export function table(rows: Row[]): string {
  if (rows.length === 0) return '(no rows)';
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: Row[string]) => (v === undefined || v === null ? '' : typeof v === 'number' ? formatNumber(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

let machineInfo: Record<string, unknown> | undefined;

/** The machine and the versions, recorded in every result file. */
export function machine(): Record<string, unknown> {
  if (machineInfo) return machineInfo;
  const tryRun = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000 }).trim();
    } catch {
      return undefined;
    }
  };
  const pkg = (name: string) => {
    try {
      return (JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return undefined;
    }
  };
  const toolchain = tryRun('ls', [join(process.env.HOME ?? '/root', '.cache/claimflow/toolchain')]);
  machineInfo = {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: tryRun('uname', ['-r']),
    node: process.version,
    postgres: tryRun('psql', ['--version']),
    toolchain: toolchain?.split('\n').filter((d) => d !== 'current'),
    temporalCli: tryRun(join(process.env.HOME ?? '/root', '.cache/claimflow/toolchain/current/temporal'), ['--version']),
    packages: Object.fromEntries(['@temporalio/worker', 'pg', 'fastify', '@kubernetes/client-node'].map((n) => [n, pkg(n)])),
    gitCommit: tryRun('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']),
    gitDirty: (tryRun('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'src', 'worker.ts']) ?? '').length > 0,
  };
  return machineInfo;
}

export function writeResult(bench: string, quick: boolean, result: unknown): string {
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `${bench}-${quick ? 'quick' : 'full'}-${stamp}.json`);
  const body = { bench, size: quick ? 'quick' : 'full', at: new Date().toISOString(), command: process.argv.slice(1).join(' '), machine: machine(), result };
  writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
  writeFileSync(join(dir, `${bench}-${quick ? 'quick' : 'full'}-latest.json`), JSON.stringify(body, null, 2) + '\n');
  return file;
}
