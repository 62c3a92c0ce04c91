// The test harness behind `npm test` (after lint and type-check, see scripts/test.sh).
//
//   tsx test/run.ts                      unit tests, then integration tests
//   tsx test/run.ts test/x/y.test.ts ... just those files
//
// Integration tests get ONE throwaway stack for the whole run (stack/index.ts with a test
// config): temp dir, kernel-assigned ports, its own database, headless Temporal, the simulator
// with short delays; no worker and no API (tests start those with the code under test). It
// never touches `npm run up`'s stack, so both can run side by side. The stack is always torn
// down: on success, failure, Ctrl-C or SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { paths, temporalAddress } from '../stack/config.js';
import { repoRoot, resolveToolchain, startStack, stopStack, testStackConfig, type StackConfig } from '../stack/index.js';
import { pidsWithEnv, terminatePids } from '../stack/processes.js';
import { RUN_MARKER, startReaper } from '../stack/reaper.js';
import { logTail } from '../stack/util.js';

const say = (line: string) => console.log(`[test-stack] ${line}`);

/** Every *.test.ts under dir, sorted (Node 20's --test does not expand globs). */
function testFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) return testFiles(full);
      return entry.isFile() && entry.name.endsWith('.test.ts') ? [full] : [];
    })
    .sort();
}

function selectFiles(args: string[]): string[] {
  if (args.length === 0) return [...testFiles(join(repoRoot, 'test', 'unit')), ...testFiles(join(repoRoot, 'test', 'integration'))];
  return args.flatMap((arg) => {
    const full = resolve(arg);
    if (!existsSync(full)) throw new Error(`no such test file or directory: ${arg}`);
    return statSync(full).isDirectory() ? testFiles(full) : [full];
  });
}

/** Only tests outside test/unit need the stack: a unit-only run starts none. */
const needsStack = (files: string[]) => files.some((f) => !f.startsWith(join(repoRoot, 'test', 'unit') + sep));

let config: StackConfig | undefined;
let starting: Promise<unknown> | undefined;
let child: ChildProcess | undefined;
let tornDown: Promise<void> | undefined;
const abort = new AbortController();

function teardown(): Promise<void> {
  tornDown ??= (async () => {
    abort.abort(new Error('test run interrupted'));
    await starting?.catch(() => undefined); // let an interrupted start-up settle, then stop what it started
    if (!config) return;
    const started = Date.now();
    // processes a test started and left running (they carry this run's marker in their env)
    const leftovers = pidsWithEnv(RUN_MARKER, config.stateDir);
    if (leftovers.length > 0) {
      say(`warning: tests left ${leftovers.length} process(es) running, stopping them: ${leftovers.map(describePid).join('; ')}`);
      await terminatePids(leftovers);
    }
    const { rows } = await stopStack(config);
    const problems = rows.filter((r) => !['stopped', 'killed', 'not running'].includes(r.state) && r.component !== 'PostgreSQL');
    const db = rows.find((r) => r.component === 'PostgreSQL')?.state ?? '';
    say(`stopped in ${((Date.now() - started) / 1000).toFixed(1)}s, removed ${config.stateDir}; PostgreSQL: ${db}`);
    for (const p of problems) say(`warning: ${p.component}: ${p.state}`);
  })();
  return tornDown;
}

function describePid(pid: number): string {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 120)}`;
  } catch {
    return String(pid);
  }
}

function onSignal(signal: NodeJS.Signals): void {
  say(`${signal}: stopping tests and the test stack...`);
  child?.kill(signal);
  void teardown().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
}

async function main(): Promise<number> {
  const files = selectFiles(process.argv.slice(2));
  if (files.length === 0) {
    console.log('no test files found');
    return 0;
  }
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const env: NodeJS.ProcessEnv = { ...process.env };
  if (needsStack(files)) {
    const t0 = Date.now();
    const toolchainBin = await resolveToolchain(repoRoot);
    config = await testStackConfig(toolchainBin);
    say(`starting in ${config.stateDir} (database ${config.postgres.database})`);
    startReaper(config); // tears the stack down should this process be SIGKILLed
    const start = startStack(config, { signal: abort.signal });
    starting = start;
    const result = await start;
    say(`ready in ${((Date.now() - t0) / 1000).toFixed(1)}s: Temporal ${temporalAddress(config)}, kube-apiserver https://127.0.0.1:${config.ports.apiserver}`);
    Object.assign(env, {
      KUBECONFIG: result.env.KUBECONFIG,
      TEMPORAL_ADDRESS: result.env.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: result.env.TEMPORAL_NAMESPACE,
      TEMPORAL_TASK_QUEUE: result.env.TEMPORAL_TASK_QUEUE,
      DATABASE_URL: result.env.DATABASE_URL,
      [RUN_MARKER]: config.stateDir,
      CLAIMFLOW_TOOLCHAIN_BIN: toolchainBin,
    });
    // derived from the task queue, as for the stack's worker
    delete env.TEMPORAL_SCHEDULED_TASK_QUEUE;
    say(`logs: ${paths(config).logs}`);
  } else {
    // unit tests must not pick up a developer's stack through leftover variables
    for (const k of ['KUBECONFIG', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'TEMPORAL_SCHEDULED_TASK_QUEUE', 'DATABASE_URL', 'CLAIMFLOW_STACK_DIR']) delete env[k];
  }

  const args = [
    '--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec',
    // A test file whose tests are done but that keeps a handle open (a forgotten worker or
    // connection) would otherwise hang the run until CI's time limit; teardown then reports and
    // stops any process it left behind.
    '--test-force-exit',
    // backstop per test() for the same reason; tests wait with their own, shorter deadlines
    `--test-timeout=${10 * 60_000}`,
    ...files.map((f) => relative(repoRoot, f)),
  ];
  return new Promise<number>((ok, fail) => {
    child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: 'inherit' });
    child.once('error', fail);
    child.once('exit', (code, signal) => ok(code ?? (signal ? 1 : 0)));
  });
}

function dumpLogs(c: StackConfig): void {
  const dir = paths(c).logs;
  if (!existsSync(dir)) return;
  for (const file of readdirSync(dir).sort()) {
    console.error(`\n---- last lines of ${file} ----\n${logTail(join(dir, file), 25)}`);
  }
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (e) {
  if (!abort.signal.aborted) {
    console.error(e instanceof Error ? `\n${e.name === 'StackError' ? 'test stack' : 'error'}: ${e.message}` : e);
    if (config) dumpLogs(config); // the state dir goes away with the stack: show the logs now
  }
} finally {
  await teardown();
}
process.exit(exitCode);
