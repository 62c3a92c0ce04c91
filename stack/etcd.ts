// etcd: the apiserver's storage. A single member on loopback; its data dir lives in the state
// dir so objects survive `down`/`up` on the developer stack.
import { join } from 'node:path';
import { etcdUrl, paths, type StackConfig } from './config.js';
import { goServerEnv } from './util.js';
import type { Supervised } from './supervise.js';

export function etcdComponent(config: StackConfig): Supervised {
  const client = etcdUrl(config);
  const peer = `http://127.0.0.1:${config.ports.etcdPeer}`;
  return {
    name: 'etcd',
    title: 'etcd',
    ports: [
      { port: config.ports.etcdClient, label: 'etcd client' },
      { port: config.ports.etcdPeer, label: 'etcd peer' },
    ],
    spec: () => ({
      name: 'etcd',
      command: join(config.toolchainBin, 'etcd'),
      args: [
        '--name', 'claimflow',
        '--data-dir', paths(config).etcdData,
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `claimflow=${peer}`,
        '--log-level', 'warn',
        // A throwaway test stack has nothing worth an fsync; the developer stack keeps its data safe.
        ...(config.ephemeral ? ['--unsafe-no-fsync'] : []),
      ],
      env: goServerEnv(),
      cwd: config.stateDir,
    }),
    healthy: async () => {
      const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) return false;
      const body = (await res.json()) as { health?: string };
      return body.health === 'true';
    },
    timeoutMs: 30_000,
  };
}
