import type { Row } from './report.js';

export interface BenchContext {
  quick: boolean;
  /** --name=value options from the command line (sizes, tuning), as strings. */
  options: Record<string, string>;
  log: (line: string) => void;
}

export interface Target {
  what: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchResult {
  /** The table printed (and stored). */
  rows: Row[];
  targets: Target[];
  /** Everything else worth keeping (raw summaries, CPU per process, settings). */
  details: Record<string, unknown>;
  notes?: string[];
}

export interface Bench {
  name: string;
  title: string;
  run: (ctx: BenchContext) => Promise<BenchResult>;
}

/** A numeric option with quick and full defaults. */
export function size(ctx: BenchContext, name: string, quick: number, full: number): number {
  const raw = ctx.options[name];
  if (raw !== undefined) {
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new Error(`--${name} must be a number, got ${raw}`);
    return value;
  }
  return ctx.quick ? quick : full;
}
