import { readEnv } from './src/config/env.js';
import { createClaimflowWorker } from './src/worker/create-worker.js';

// The claimflow worker process. SIGTERM/SIGINT start a graceful shutdown (the SDK's default
// shutdown signals): no new tasks are taken, running activities get WORKER_SHUTDOWN_GRACE_MS to
// finish, and anything cut short is retried by another worker.

const env = readEnv();
const { worker, close } = await createClaimflowWorker(env);
console.log(JSON.stringify({ level: 'info', msg: 'worker running', taskQueue: env.TEMPORAL_TASK_QUEUE, namespace: env.TEMPORAL_NAMESPACE, temporal: env.TEMPORAL_ADDRESS }));
try {
  await worker.run();
} finally {
  await close();
  console.log(JSON.stringify({ level: 'info', msg: 'worker stopped' }));
}
