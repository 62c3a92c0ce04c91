import { INSTANCE_WORKFLOW_TYPE } from '../../workflows/messages.js';

// Questions to Temporal's visibility store about a deployment's running instances: the windows'
// runs and the Schedule keeper must reach workflows that run now, and the read model lags them.

/** Visibility queries take values in single quotes; ours never contain one. */
export function quoted(value: string): string {
  if (value.includes("'")) throw new Error(`cannot look up instances by ${JSON.stringify(value)}: it contains a quote`);
  return `'${value}'`;
}

/** The running instance workflows of every deployment in the namespace. */
export const runningInstancesAnywhereQuery = (): string => [`WorkflowType = ${quoted(INSTANCE_WORKFLOW_TYPE)}`, "ExecutionStatus = 'Running'"].join(' AND ');

/** The running instance workflows on one deployment's task queue that meet every further condition. */
export function runningInstancesQuery(instanceTaskQueue: string, ...conditions: string[]): string {
  return [runningInstancesAnywhereQuery(), `TaskQueue = ${quoted(instanceTaskQueue)}`, ...conditions].join(' AND ');
}
