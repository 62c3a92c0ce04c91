// What a test may use of the stack test/run.ts started for this run. Everything comes from the
// environment the harness exports; reading a value outside the harness fails with instructions
// instead of silently talking to whatever runs on the default ports.
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';

const VARS = {
  kubeconfigPath: 'KUBECONFIG',
  temporalAddress: 'TEMPORAL_ADDRESS',
  temporalNamespace: 'TEMPORAL_NAMESPACE',
  databaseUrl: 'DATABASE_URL',
  stackDir: 'CLAIMFLOW_STACK_DIR',
  toolchainBin: 'CLAIMFLOW_TOOLCHAIN_BIN',
} as const;

export type TestEnv = { readonly [K in keyof typeof VARS]: string };

function required(name: string): string {
  const value = process.env[name];
  // CLAIMFLOW_STACK_DIR is only ever set by the harness: without it, KUBECONFIG & co. may point
  // at a developer's real stack, which tests must not touch.
  if (!value || !process.env.CLAIMFLOW_STACK_DIR) {
    const why = process.env.CLAIMFLOW_STACK_DIR ? `${name} is not set` : 'not running under the test harness (CLAIMFLOW_STACK_DIR is not set)';
    throw new Error(
      `${why}: this test needs the stack that test/run.ts starts. Run it through npm test ` +
        '(e.g. `npm test -- test/integration/kube-smoke.test.ts`), not with node --test directly.',
    );
  }
  return value;
}

/** Values are read when first used, so a unit test that never touches the stack can import this. */
export const testEnv: TestEnv = Object.defineProperties(
  {},
  Object.fromEntries(Object.entries(VARS).map(([key, name]) => [key, { enumerable: true, get: () => required(name) }])),
) as TestEnv;

/** A client-node KubeConfig for the harness's apiserver (admin client certificate). */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(testEnv.kubeconfigPath);
  return kc;
}

/**
 * A name that is a valid DNS label (lower-case alphanumerics and '-', starting with a letter,
 * at most 63 characters) and unique per call: `<prefix>-<8 random chars>`, prefix cut to 40.
 */
export function uniqueName(prefix: string): string {
  let p = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').slice(0, 40).replace(/-+$/, '');
  if (p === '') p = 't';
  const suffix = randomBytes(8)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 8);
  return `${p}-${suffix}`;
}
