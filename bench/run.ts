// `npm run bench [-- [name ...] [--quick] [--option=value ...]]`
//
// Runs the benches (all, or the ones named) one after another. Each starts its own throwaway
// stack and tears it down; each prints a table and writes JSON to bench/results/. --quick uses
// small sizes (each bench a couple of minutes); without it, the sizes of BENCHMARKS.md.
import { performance } from 'node:perf_hooks';
import { cleanupAll, installSignalHandlers, startBench } from './lib/cleanup.js';
import { table, writeResult } from './lib/report.js';
import type { Bench, BenchResult } from './lib/types.js';
import { footprintBench } from './footprint.js';
import { maintenanceBench } from './maintenance.js';
import { projectionBench } from './projection.js';
import { provisioningBench } from './provisioning.js';
import { reactionBench } from './reaction.js';
import { readPathBench } from './read-path.js';

const BENCHES: Bench[] = [provisioningBench, reactionBench, readPathBench, projectionBench, maintenanceBench, footprintBench];

function usage(): string {
  return [
    'usage: npm run bench -- [name ...] [--quick] [--option=value ...]',
    '',
    ...BENCHES.map((b) => `  ${b.name.padEnd(13)} ${b.title}`),
    '',
    'Sizes and tuning can be overridden, e.g. --instances=500 (see BENCHMARKS.md for each bench).',
  ].join('\n');
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(usage());
  process.exit(0);
}
const quick = args.includes('--quick');
const options: Record<string, string> = {};
const names: string[] = [];
for (const arg of args) {
  if (arg === '--quick') continue;
  const m = /^--([\w-]+)(?:=(.*))?$/.exec(arg);
  if (m) options[m[1]!] = m[2] ?? 'true';
  else names.push(arg);
}
const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
if (unknown.length > 0) {
  console.error(`unknown bench: ${unknown.join(', ')}\n\n${usage()}`);
  process.exit(2);
}
const selected = names.length === 0 ? BENCHES : BENCHES.filter((b) => names.includes(b.name));

installSignalHandlers();
let failed = 0;
const summary: { bench: string; seconds: number; targets: BenchResult['targets'] | string }[] = [];
for (const bench of selected) {
  const started = performance.now();
  const log = (line: string) => console.log(`[${bench.name} ${((performance.now() - started) / 1000).toFixed(1)}s] ${line}`);
  console.log(`\n=== ${bench.name}: ${bench.title} (${quick ? 'quick' : 'full'}) ===`);
  startBench();
  try {
    const result = await bench.run({ quick, options, log });
    await cleanupAll();
    const seconds = (performance.now() - started) / 1000;
    console.log(`\n${table(result.rows)}\n`);
    if (result.targets.length > 0) console.log(table(result.targets.map((t) => ({ target: t.what, wanted: t.target, measured: t.measured, met: t.met ? 'yes' : 'NO' }))));
    for (const note of result.notes ?? []) console.log(`note: ${note}`);
    const file = writeResult(bench.name, quick, { ...result, seconds, options });
    console.log(`\nwrote ${file} (${seconds.toFixed(0)} s)`);
    summary.push({ bench: bench.name, seconds, targets: result.targets });
  } catch (error) {
    failed++;
    console.error(`\n${bench.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanupAll();
    summary.push({ bench: bench.name, seconds: (performance.now() - started) / 1000, targets: `failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` });
  }
}

if (selected.length > 1) {
  console.log('\n=== summary ===');
  console.log(
    table(
      summary.flatMap((s) =>
        typeof s.targets === 'string'
          ? [{ bench: s.bench, seconds: Math.round(s.seconds), target: s.targets, measured: '', met: 'NO' }]
          : s.targets.map((t) => ({ bench: s.bench, seconds: Math.round(s.seconds), target: `${t.what} ${t.target}`, measured: t.measured, met: t.met ? 'yes' : 'NO' })),
      ),
    ),
  );
}
process.exit(failed > 0 ? 1 : 0);
