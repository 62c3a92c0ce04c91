// `npm run up | down | status` for the developer stack in <repo>/.local.
// `up` is normally reached through scripts/up.sh, which installs node_modules and builds the
// toolchain first and passes its directory in CLAIMFLOW_TOOLCHAIN_BIN.
import { databaseUrl } from './config.js';
import { DEV_TENANT, ensureDevToken } from './dev-token.js';
import { formatTable, localStackConfig, repoRoot, resolveToolchain, stackStatus, startStack, stopStack, StackError } from './index.js';

const usage = 'usage: tsx stack/cli.ts up | down | status';

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      const started = Date.now();
      const config = localStackConfig(await resolveToolchain(repoRoot));
      const result = await startStack(config, { log: (line) => console.log(`  ${line}`) });
      const devToken = await ensureDevToken(config.stateDir, databaseUrl(config));
      console.log();
      console.log(formatTable(result.rows));
      for (const warning of result.warnings) console.log(`\nwarning: ${warning}`);
      console.log();
      console.log(`API token of tenant "${DEV_TENANT}"${devToken.created ? ' (new)' : ''}: ${devToken.token}   (also in .local/dev-token)`);
      console.log();
      console.log(
        result.unchanged
          ? 'Stack already running: nothing changed.'
          : `Stack up in ${((Date.now() - started) / 1000).toFixed(1)}s.`,
      );
      console.log('Logs: .local/logs/   Shell env: source .local/env   kubectl: .local/toolchain-bin-path/kubectl --kubeconfig .local/kubeconfig');
      return 0;
    }
    case 'down': {
      const { rows } = await stopStack(localStackConfig(''));
      console.log(formatTable(rows));
      console.log('Data kept in .local/ (etcd, temporal.sqlite); `npm run up` resumes it.');
      return 0;
    }
    case 'status': {
      console.log(formatTable(await stackStatus(localStackConfig(''))));
      return 0;
    }
    default:
      console.error(usage);
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof StackError) {
      console.error(`\nerror: ${e.message}`);
      if (process.argv[2] === 'up') console.error('Parts that did start keep running; `npm run down` stops them.');
    } else {
      console.error(e);
    }
    process.exit(1);
  },
);
