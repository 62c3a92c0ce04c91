// The simulator's settings, all from the environment (see docs/simulator.md).

export interface SimulatorConfig {
  /** Path of the kubeconfig of the control plane to act on. */
  kubeconfig: string;
  /** Claim created -> Ready. */
  readyDelayMs: number;
  /** SGDbOps started -> Completed/Failed. */
  opDelayMs: number;
  /** SGBackup Running -> Completed/Failed. */
  backupDelayMs: number;
  /** How many objects are reconciled at once. */
  concurrency: number;
  logLevel: string;
}

export class ConfigError extends Error {}

function nonNegativeInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  const kubeconfig = env.KUBECONFIG?.trim();
  if (!kubeconfig) throw new ConfigError('KUBECONFIG is required: the path of the kubeconfig of the local control plane');
  return {
    kubeconfig,
    readyDelayMs: nonNegativeInt(env, 'SIMULATOR_READY_DELAY_MS', 3000),
    opDelayMs: nonNegativeInt(env, 'SIMULATOR_OP_DELAY_MS', 3000),
    backupDelayMs: nonNegativeInt(env, 'SIMULATOR_BACKUP_DELAY_MS', 2000),
    concurrency: nonNegativeInt(env, 'SIMULATOR_CONCURRENCY', 16, 1),
    logLevel: env.SIMULATOR_LOG_LEVEL?.trim() || 'info',
  };
}
