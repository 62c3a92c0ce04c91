// Entry of the reaper process (see reaper.ts): reaper-main.ts <owner pid> <stack.json>
import { existsSync, readFileSync } from 'node:fs';
import type { StackConfig } from './config.js';
import { stopStack } from './index.js';
import { isAlive, pidsWithEnv, terminatePids } from './processes.js';
import { RUN_MARKER } from './reaper.js';
import { sleep } from './util.js';

const [ownerArg, configFile] = process.argv.slice(2);
const owner = Number(ownerArg);
if (!Number.isInteger(owner) || !configFile) {
  console.error('usage: reaper-main.ts <owner pid> <stack.json>');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configFile, 'utf8')) as StackConfig;

for (;;) {
  // the owner tore the stack down itself: nothing left to guard
  if (!existsSync(config.stateDir)) process.exit(0);
  if (!isAlive(owner)) break;
  await sleep(1000);
}

console.log(`${new Date().toISOString()} owner ${owner} is gone; tearing down the stack in ${config.stateDir}`);
await terminatePids(pidsWithEnv(RUN_MARKER, config.stateDir));
await stopStack(config);
process.exit(0);
