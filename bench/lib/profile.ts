// `node --cpu-prof` support: where profiles go, and a summary of one (self time by function and
// by package), so BENCHMARKS.md can say where a process spends its CPU.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../../stack/index.js';

export const PROFILE_DIR = join(repoRoot, 'bench', 'results', 'profiles');

/**
 * Node flags that write .cpuprofile files into bench/results/profiles/<name>/ at exit: one per
 * thread (the main thread, and the SDK's workflow thread, which runs workflow code).
 */
export function cpuProfileFlags(name: string): string[] {
  const dir = join(PROFILE_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/**
 * Node flags and env that let `toggle()` profile one phase of a process's main thread
 * (bench/lib/profile-on-signal.mjs); the profile lands in bench/results/profiles/<name>/.
 */
export function phaseProfile(name: string): { nodeFlags: string[]; env: Record<string, string>; toggle: (pid: number) => void } {
  const dir = join(PROFILE_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return {
    nodeFlags: ['--import', join(repoRoot, 'bench', 'lib', 'profile-on-signal.mjs')],
    env: { BENCH_PROFILE_FILE: join(dir, 'phase.cpuprofile') },
    toggle: (pid) => process.kill(pid, 'SIGWINCH'),
  };
}

/** The profiles written under bench/results/profiles/<name>/, largest (most samples) first. */
export function profilesOf(name: string): string[] {
  try {
    const dir = join(PROFILE_DIR, name);
    return readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size);
  } catch {
    return [];
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idlePercent: number;
  /** Self time by function, top N, as a share of the busy (non-idle) samples. */
  functions: { percent: number; fn: string; where: string }[];
  /** Self time by package / area (node_modules/<pkg>, src/..., node internals, GC). */
  areas: { percent: number; area: string }[];
}

function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return '(gc)';
  if (fn === '(idle)' || fn === '(program)') return fn;
  if (!url) return '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(repoRoot)) return relative(repoRoot, path).split('/').slice(0, 2).join('/');
  return path;
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<number, number>();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const all = profile.samples.length || 1;
  const fns = new Map<string, { n: number; fn: string; where: string }>();
  const areas = new Map<string, number>();
  let idle = 0;
  for (const [id, n] of counts) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = functionName || '(anonymous)';
    if (fn === '(idle)') idle += n;
    const where = url ? `${url.replace(/^file:\/\//, '').replace(repoRoot + '/', '')}:${lineNumber + 1}` : '';
    const key = `${fn} ${where}`;
    const e = fns.get(key) ?? { n: 0, fn, where };
    e.n += n;
    fns.set(key, e);
    const area = areaOf(url, fn);
    areas.set(area, (areas.get(area) ?? 0) + n);
  }
  // function and area shares are of the busy samples (idle excluded)
  const total = Math.max(1, all - idle);
  const pct = (n: number) => Math.round((n / total) * 1000) / 10;
  return {
    file: relative(repoRoot, file),
    totalMs: Math.round(totalMs),
    idlePercent: Math.round((idle / all) * 1000) / 10,
    functions: [...fns.values()].filter((e) => e.fn !== '(idle)').sort((a, b) => b.n - a.n).slice(0, top).map((e) => ({ percent: pct(e.n), fn: e.fn, where: e.where })),
    areas: [...areas.entries()].filter(([a]) => a !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top).map(([area, n]) => ({ percent: pct(n), area })),
  };
}

if (process.argv[1]?.endsWith('profile.ts') && process.argv[2]) {
  console.log(JSON.stringify(summarizeProfile(process.argv[2], Number(process.argv[3] ?? 30)), null, 2));
}
