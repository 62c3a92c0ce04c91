// Where the server binaries come from: scripts/build-toolchain.sh builds them from the Go module
// proxy into ~/.cache (once; later runs only print the directory). CLAIMFLOW_TOOLCHAIN_BIN lets a
// caller that already ran the script (scripts/up.sh, scripts/test.sh) skip running it again.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from './util.js';

export const TOOLCHAIN_BINARIES = ['temporal', 'etcd', 'kube-apiserver', 'kubectl', 'promtool'] as const;

export function missingBinaries(dir: string): string[] {
  return TOOLCHAIN_BINARIES.filter((b) => !existsSync(join(dir, b)));
}

/** The toolchain directory: from CLAIMFLOW_TOOLCHAIN_BIN when complete, else from the build script. */
export async function resolveToolchain(rootDir: string): Promise<string> {
  const fromEnv = process.env.CLAIMFLOW_TOOLCHAIN_BIN;
  if (fromEnv && missingBinaries(fromEnv).length === 0) return fromEnv;
  const script = join(rootDir, 'scripts', 'build-toolchain.sh');
  const stdout = await new Promise<string>((ok, fail) => {
    // progress goes to stderr, straight to the user's terminal; the directory is the last stdout line
    const child = spawn('bash', [script], { cwd: rootDir, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('error', fail);
    child.once('exit', (code) => (code === 0 ? ok(out) : fail(new StackError(`scripts/build-toolchain.sh failed (exit ${code}); its output is above`))));
  });
  const dir = stdout.trim().split('\n').at(-1)?.trim() ?? '';
  const missing = missingBinaries(dir);
  if (!dir || missing.length > 0) throw new StackError(`scripts/build-toolchain.sh printed "${dir}", which lacks: ${missing.join(', ')}`);
  return dir;
}
