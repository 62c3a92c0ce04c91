// npm run instance:resume -- --tenant <tenant> --name <instance> --reason "<why>" [--actor <who>]
// Gives an instance whose workflow was ended outside claimflow a workflow again (the API answers
// its commands 409 instance_not_running): a reset of the ended run while Temporal keeps its
// history, else a new workflow that takes over from the read model's log. Reads DATABASE_URL,
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and TEMPORAL_TASK_QUEUE like the worker does.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { ResumeRefused, resumeInstance, type ResumeOutcome, type SlotRepair } from '../src/clients/resume-instance.js';
import { readEnv } from '../src/config/env.js';

const usage = 'usage: npm run instance:resume -- --tenant <tenant> --name <instance> --reason "<why>" [--actor <who>]';
const { values } = parseArgs({ options: { tenant: { type: 'string' }, name: { type: 'string' }, reason: { type: 'string' }, actor: { type: 'string' } } });
const missing = (['tenant', 'name', 'reason'] as const).filter((option) => !values[option]?.trim());
if (missing.length > 0) {
  console.error(`missing ${missing.map((option) => `--${option}`).join(', ')}\n${usage}`);
  process.exit(2);
}
const request = { tenant: values.tenant!, name: values.name!, reason: values.reason!, actor: values.actor ?? `platform:${userInfo().username}` };

const describe = (outcome: ResumeOutcome): string => {
  const instance = `${request.tenant}/${request.name}`;
  switch (outcome.outcome) {
    case 'running':
      return `${instance}: its workflow is running (run ${outcome.runId}); nothing to do`;
    case 'reset':
      return `${instance}: the ${outcome.endedStatus.toLowerCase()} run ${outcome.endedRunId} was reset to its last workflow task; run ${outcome.runId} carries on from its history` +
        (outcome.maintenanceSlot ? `\n${describeSlot(outcome.maintenanceSlot)}` : '');
    case 'adopted':
      return `${instance}: Temporal had no history of its workflow; run ${outcome.runId} took it over from the read model's ${outcome.events} events` +
        (outcome.abandonedOperation ? ` (${outcome.abandonedOperation.type} ${outcome.abandonedOperation.id} recorded as abandoned)` : '') +
        (outcome.resumedOperation ? ` (${outcome.resumedOperation.type} ${outcome.resumedOperation.id} goes on: it asks the cluster again)` : '');
  }
};

const describeSlot = (slot: SlotRepair): string =>
  'notRepaired' in slot
    ? `its maintenance's place with the fleet was not repaired: ${slot.notRepaired}; a maintenance run it carries on may hold a slot the fleet no longer counts, or wait for one it was not asked for`
    : slot.done === 'held again'
      ? `its maintenance run goes on with its fleet slot, counted again by ${slot.fleetWorkflowId}`
      : `its maintenance run waits for a fleet slot again, asked of ${slot.fleetWorkflowId}`;

const env = readEnv();
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
try {
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  console.log(describe(await resumeInstance({ client, pool, taskQueue: env.TEMPORAL_TASK_QUEUE, fleetWorkflowId: env.MAINTENANCE_FLEET_ID }, request)));
} catch (error) {
  if (!(error instanceof ResumeRefused)) throw error;
  console.error(`not resumed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await connection.close();
  await pool.end();
}
