// The API as a process (src/api/main.ts) and the token CLI (src/api/auth/create-token.ts), run the
// way the stack runs them, against the harness's Temporal and database.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { eventually } from '../support/api.js';
import { testEnv, uniqueName } from '../support/env.js';

const run = promisify(execFile);

const stackEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  TEMPORAL_ADDRESS: testEnv.temporalAddress,
  TEMPORAL_NAMESPACE: testEnv.temporalNamespace,
  DATABASE_URL: testEnv.databaseUrl,
});

test('create-token prints a token once and stores only its sha256', async () => {
  const tenant = uniqueName('cli');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/api/auth/create-token.ts', tenant, 'laptop'], { env: stackEnv() });
  const token = stdout.trim();
  assert.match(token, /^cf_[A-Za-z0-9_-]{43}$/);
  const pool = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query<{ token_hash: string; name: string }>('SELECT token_hash, name FROM api_tokens WHERE tenant = $1', [tenant]);
    assert.deepEqual(rows, [{ token_hash: createHash('sha256').update(token).digest('hex'), name: 'laptop' }]);
  } finally {
    await pool.end();
  }
  await assert.rejects(run(process.execPath, ['--import', 'tsx', 'src/api/auth/create-token.ts', 'Not A Tenant'], { env: stackEnv() }));
});

test('the API process serves, logs JSON with request ids, and stops cleanly on SIGTERM', async () => {
  const tenant = uniqueName('main');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/api/auth/create-token.ts', tenant], { env: stackEnv() });
  const token = stdout.trim();

  const child = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    env: { ...stackEnv(), CLAIMFLOW_API_HOST: '127.0.0.1', CLAIMFLOW_API_PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      assert.fail(`a log line that is not JSON: ${line}`);
    }
  });
  try {
    const listening = await eventually('the API to listen', () => Promise.resolve(logs.find((line) => line.msg === 'claimflow API listening')));
    const base = String(listening.address);

    const ready = await eventually('readiness', async () => {
      const response = await fetch(`${base}/readyz`);
      return response.status === 200 ? response : undefined;
    });
    assert.equal(ready.status, 200);

    const listed = await fetch(`${base}/v1/instances`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'main-test-42' } });
    assert.equal(listed.status, 200);
    assert.deepEqual(await listed.json(), { items: [], nextCursor: null });
    assert.equal(listed.headers.get('x-request-id'), 'main-test-42');
    await eventually('the request in the logs', () => Promise.resolve(logs.find((line) => line.reqId === 'main-test-42' && line.msg === 'request completed')));
    assert.ok(!JSON.stringify(logs).includes(token), 'the token is never logged');
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = await exited;
  assert.equal(code, 0);
  assert.ok(logs.some((line) => line.msg === 'stopped'));
});
