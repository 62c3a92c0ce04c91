import { spawn, type ChildProcess } from 'node:child_process';
import { WORKER_NODE_FLAGS } from '../../src/worker/workflow-threads.js';
import { workerEnv } from './lifecycle.js';

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
