import { WorkflowNotFoundError } from '@temporalio/client';
import type { ApiContext } from './context.js';
import { ApiError } from './errors.js';
import type { WorkflowRun } from './temporal.js';

// An instance's workflow ends by itself only once the instance is deleted. One ended any other way
// (terminated or cancelled from the Temporal UI or CLI, say) leaves the claim in the cluster and the
// instance live in the read model with nothing to take its commands. Temporal then answers "not
// found", which would contradict the read model; and a create of the same name would start a
// second workflow that applies its own spec over the same claim. Both are refused with the reason
// until the platform team resets the workflow, whose history Temporal keeps.

function instanceNotRunning(name: string, run: WorkflowRun | null): ApiError {
  const how =
    run === null
      ? 'Temporal has no history of its workflow (it ended longer ago than Temporal keeps histories, or another Temporal ran it)'
      : `its workflow was ${run.status.toLowerCase().replace(/_/g, ' ')}${run.closedAt ? ` at ${run.closedAt.toISOString()}` : ''}, outside claimflow`;
  return new ApiError(
    409,
    'instance_not_running',
    `instance ${name} is not deleted, but nothing manages it: ${how}. Its claim and cluster are left as they were; ` +
      'ask the platform team to resume its workflow',
  );
}

/** Why a live instance cannot take commands; undefined while its workflow runs, or when no instance of that name is live. */
export async function endedOutsideClaimflow(ctx: ApiContext, tenant: string, name: string): Promise<ApiError | undefined> {
  const record = await ctx.reads.findInstance(tenant, name);
  if (!record || record.state.phase === 'deleted') return undefined;
  const run = await ctx.commands.latestRun(tenant, name);
  return run?.status === 'RUNNING' ? undefined : instanceNotRunning(name, run);
}

/** A call to an instance's workflow whose "not found", for an instance the read model holds live, says why. */
export async function callInstanceWorkflow<T>(ctx: ApiContext, tenant: string, name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw (await endedOutsideClaimflow(ctx, tenant, name)) ?? error;
    throw error;
  }
}
