// Certificates for the local control plane, made with the openssl CLI (present on every machine
// of this project; no npm dependency). Generated once per state dir and reused, so a restarted
// apiserver keeps accepting the kubeconfig and service-account tokens it issued before.
//
//   ca.crt/ca.key            local CA; the apiserver trusts client certs it signed (--client-ca-file)
//   apiserver.crt/.key       serving cert, SANs 127.0.0.1 and localhost (+ in-cluster names)
//   admin.crt/.key           client cert, O=system:masters: full access through RBAC's superuser group
//   sa.key/sa.pub            service-account token signing pair
//
// EC P-256 keys: generated in milliseconds, accepted by Go, Node and kubectl alike.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from './util.js';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

export function pkiPaths(dir: string): Pki {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
  };
}

// Written last: its presence means every file above is complete.
const COMPLETE = '.complete';

const TEN_YEARS = '3650';

async function ecKey(file: string): Promise<void> {
  await runOk('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

/** An openssl config of our own, so the result does not depend on the system openssl.cnf. */
function opensslConfig(file: string, subject: Record<string, string>, extensions: string[]): void {
  const dn = Object.entries(subject).map(([k, v]) => `${k} = ${v}`);
  writeFileSync(file, ['[req]', 'prompt = no', 'distinguished_name = dn', '[dn]', ...dn, '[ext]', ...extensions, ''].join('\n'));
}

async function signedCert(pki: Pki, name: string, key: string, cert: string, subject: Record<string, string>, extensions: string[]): Promise<void> {
  const cnf = join(pki.dir, `${name}.cnf`);
  const csr = join(pki.dir, `${name}.csr`);
  opensslConfig(cnf, subject, extensions);
  await ecKey(key);
  await runOk('openssl', ['req', '-new', '-config', cnf, '-key', key, '-out', csr]);
  await runOk('openssl', [
    'x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey,
    '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', TEN_YEARS, '-sha256',
    '-extfile', cnf, '-extensions', 'ext', '-out', cert,
  ]);
  rmSync(csr, { force: true });
  rmSync(cnf, { force: true });
}

/** Creates the PKI in `dir` unless a complete one is already there. */
export async function ensurePki(dir: string): Promise<Pki> {
  const pki = pkiPaths(dir);
  if (existsSync(join(dir, COMPLETE))) return pki;
  // A partial PKI (interrupted run) is discarded whole: mixing old and new keys breaks trust.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  const caCnf = join(dir, 'ca.cnf');
  opensslConfig(caCnf, { CN: 'claimflow-local-ca' }, [
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
    'subjectKeyIdentifier = hash',
  ]);
  await ecKey(pki.caKey);
  await runOk('openssl', ['req', '-x509', '-new', '-config', caCnf, '-extensions', 'ext', '-key', pki.caKey, '-days', TEN_YEARS, '-sha256', '-out', pki.caCert]);
  rmSync(caCnf, { force: true });

  await Promise.all([
    signedCert(pki, 'apiserver', pki.serverKey, pki.serverCert, { CN: 'kube-apiserver' }, [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      // 10.0.0.1 is the "kubernetes" Service IP in --service-cluster-ip-range=10.0.0.0/24
      'subjectAltName = IP:127.0.0.1, DNS:localhost, IP:10.0.0.1, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc',
    ]),
    signedCert(pki, 'admin', pki.adminKey, pki.adminCert, { O: 'system:masters', CN: 'claimflow-admin' }, [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = clientAuth',
    ]),
    (async () => {
      await ecKey(pki.saKey);
      await runOk('openssl', ['pkey', '-in', pki.saKey, '-pubout', '-out', pki.saPub]);
    })(),
  ]);
  writeFileSync(join(dir, COMPLETE), `${new Date().toISOString()}\n`);
  return pki;
}

/** PEM contents for TLS clients (Node https, client-node). */
export function adminTls(pki: Pki): { ca: Buffer; cert: Buffer; key: Buffer } {
  return { ca: readFileSync(pki.caCert), cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey) };
}
