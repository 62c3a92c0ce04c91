import assert from 'node:assert/strict';
import https from 'node:https';
import { test } from 'node:test';
import { KeepAliveKubeConfig } from '../../src/activities/kubernetes/client.js';

// No real CA is needed: the agents are built, never connected.
function config(caData: string): KeepAliveKubeConfig {
  const kubeConfig = new KeepAliveKubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from(caData).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'u', token: 'not-a-secret' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kubeConfig;
}

const agentOf = async (kubeConfig: KeepAliveKubeConfig): Promise<unknown> => {
  const options: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  return options.agent;
};

test('every request of one kubeconfig shares one keep-alive agent', async () => {
  const kubeConfig = config('ca one');
  const first = await agentOf(kubeConfig);
  assert.ok(first instanceof https.Agent);
  assert.equal((first as https.Agent & { keepAlive?: boolean }).keepAlive, true);
  assert.equal(await agentOf(kubeConfig), first);
});

test('changed credentials get a new agent', async () => {
  const one = config('ca one');
  const before = await agentOf(one);
  one.clusters[0] = { ...one.clusters[0]!, caData: Buffer.from('ca two').toString('base64') };
  assert.notEqual(await agentOf(one), before);
});
