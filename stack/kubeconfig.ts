// The kubeconfig for the local cluster: one cluster, one admin user authenticating with the
// client certificate from pki.ts, data embedded so the file works when copied elsewhere.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { apiserverUrl, paths, type StackConfig } from './config.js';
import type { Pki } from './pki.js';

export const KUBE_CONTEXT = 'claimflow-local';

const b64 = (file: string) => readFileSync(file).toString('base64');

export function writeKubeconfig(config: StackConfig, pki: Pki): string {
  const file = paths(config).kubeconfig;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: KUBE_CONTEXT, cluster: { server: apiserverUrl(config), 'certificate-authority-data': b64(pki.caCert) } }],
    users: [{ name: 'claimflow-admin', user: { 'client-certificate-data': b64(pki.adminCert), 'client-key-data': b64(pki.adminKey) } }],
    contexts: [{ name: KUBE_CONTEXT, context: { cluster: KUBE_CONTEXT, user: 'claimflow-admin', namespace: 'default' } }],
    'current-context': KUBE_CONTEXT,
    preferences: {},
  };
  // atomic: a client reading it mid-write must never see half a file
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, stringify(doc), { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}
