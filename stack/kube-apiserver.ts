// kube-apiserver alone, with the flags controller-runtime's envtest uses: no controller-manager,
// scheduler or kubelet. Consequences worth knowing: Pods never run, namespaces stay Terminating
// after delete (no namespace controller), ownerReference cascades do not happen (no garbage
// collector). The cluster simulator plays the controllers claimflow cares about.
import { request } from 'node:https';
import { join } from 'node:path';
import { apiserverUrl, etcdUrl, type StackConfig } from './config.js';
import { adminTls, type Pki } from './pki.js';
import type { Supervised } from './supervise.js';
import { goServerEnv } from './util.js';

export function apiserverComponent(config: StackConfig, pki: Pki): Supervised {
  return {
    name: 'kube-apiserver',
    title: 'kube-apiserver',
    ports: [{ port: config.ports.apiserver, label: 'kube-apiserver https' }],
    spec: () => ({
      name: 'kube-apiserver',
      command: join(config.toolchainBin, 'kube-apiserver'),
      args: [
        `--etcd-servers=${etcdUrl(config)}`,
        `--cert-dir=${pki.dir}`,
        `--tls-cert-file=${pki.serverCert}`,
        `--tls-private-key-file=${pki.serverKey}`,
        `--secure-port=${config.ports.apiserver}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        `--client-ca-file=${pki.caCert}`,
        `--service-account-issuer=${apiserverUrl(config)}`,
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        // The ServiceAccount admission plugin wants the token controller (absent here) to have
        // created a default ServiceAccount in every namespace; envtest disables it for that reason.
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        // The "kubernetes" Service's endpoints would be 127.0.0.1, which Endpoints validation
        // rejects (loopback), every 10s in the log. Nothing here routes to it: skip reconciling.
        '--endpoint-reconciler-type=none',
      ],
      env: goServerEnv(),
      cwd: config.stateDir,
    }),
    healthy: () => apiserverReady(config, pki),
    timeoutMs: 90_000,
  };
}

/** GET /readyz with the admin client cert: 200 once every post-start hook has finished. */
export function apiserverReady(config: StackConfig, pki: Pki): Promise<boolean> {
  const tls = adminTls(pki);
  return new Promise((ok) => {
    const req = request(
      `${apiserverUrl(config)}/readyz`,
      { ...tls, servername: 'localhost', timeout: 3000 },
      (res) => {
        res.resume();
        ok(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => ok(false));
    req.end();
  });
}
