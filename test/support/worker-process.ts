import { spawn, type ChildProcess } from 'node:child_process';
import { after, before } from 'node:test';
import { WORKER_NODE_FLAGS } from '../../src/worker/workflow-threads.js';
import { startHarness, workerEnv, type Harness } from './lifecycle.js';

/**
 * Starts worker.ts as every deployment does (node with the worker's flags) in its own process
 * group, and resolves once it says it is running.
 */
export async function spawnWorker(taskQueue: string, extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
  const env = Object.fromEntries(Object.entries(workerEnv(taskQueue)).map(([key, value]) => [key, String(value)]));
  const worker = spawn(process.execPath, [...WORKER_NODE_FLAGS, 'worker.ts'], {
    env: { ...process.env, ...env, ...extraEnv },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    worker.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker running')) resolve();
    });
    worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${output}`)));
  });
  return worker;
}

/** Stops every worker that is still alive (SIGTERM: a graceful shutdown). */
export function stopWorkers(workers: ChildProcess[]): void {
  for (const worker of workers.filter((candidate) => candidate.exitCode === null && candidate.signalCode === null)) {
    process.kill(-worker.pid!, 'SIGTERM');
  }
}

/**
 * For a test file whose workers run as processes: a harness with no worker in the test process,
 * and `spawn` for workers on its task queue; all stopped after the file's tests.
 */
export function workerProcessHarness(): { harness: () => Harness; spawn: (extraEnv?: Record<string, string>) => Promise<ChildProcess> } {
  let harness: Harness | undefined;
  const workers: ChildProcess[] = [];
  before(async () => {
    harness = await startHarness({ inProcessWorker: false });
  });
  after(async () => {
    stopWorkers(workers);
    await harness?.stop();
  });
  const started = () => {
    if (!harness) throw new Error('the harness starts in before()');
    return harness;
  };
  return {
    harness: started,
    spawn: async (extraEnv = {}) => {
      const worker = await spawnWorker(started().taskQueue, extraEnv);
      workers.push(worker);
      return worker;
    },
  };
}
