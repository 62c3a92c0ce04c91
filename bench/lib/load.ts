// Runs bench/loadgen.ts as its own process and returns its result.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadPlan, LoadResult } from '../loadgen.js';
import { spawnService, type BenchStack, type Service } from './stack.js';

let seq = 0;

export async function runLoadProcess(stack: BenchStack, plan: LoadPlan, onStart?: (service: Service) => void): Promise<LoadResult> {
  const file = join(stack.config.stateDir, `load-plan-${++seq}.json`);
  writeFileSync(file, JSON.stringify(plan));
  const service = await spawnService(stack, { name: `loadgen-${seq}`, script: 'bench/loadgen.ts', args: [file], env: {}, pipeStdout: true, exitsWhenDone: true });
  onStart?.(service);
  const chunks: Buffer[] = [];
  service.child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  const code = await service.exited;
  if (code !== 0) throw new Error(`load generator exited with ${code}; see ${service.logFile}`);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as LoadResult;
}
