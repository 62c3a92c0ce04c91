import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Command, CommandEnvelope, InstanceState, ResolvedSpec } from '../domain/index.js';

// Message definitions shared by the workflow and its clients (the API, tests, scripts).

export const TASK_QUEUE_DEFAULT = 'claimflow';
export const INSTANCE_WORKFLOW_TYPE = 'instanceWorkflow';

export const TENANT_ATTRIBUTE = defineSearchAttributeKey('ClaimflowTenant', SearchAttributeType.KEYWORD);
export const INSTANCE_ATTRIBUTE = defineSearchAttributeKey('ClaimflowInstance', SearchAttributeType.KEYWORD);
export const PHASE_ATTRIBUTE = defineSearchAttributeKey('ClaimflowPhase', SearchAttributeType.KEYWORD);

/** Durations the workflow waits for the cluster; injectable so tests run in seconds. */
export interface LifecycleSettings {
  provisionTimeoutMs: number;
  pendingRestartTimeoutMs: number;
  operationTimeoutMs: number;
  backupTimeoutMs: number;
  deleteTimeoutMs: number;
  heartbeatTimeoutMs: number;
  /** Continue-as-new after this many history events even if Temporal has not suggested it yet. */
  continueAsNewAfterEvents?: number;
}

export interface CarriedState {
  state: InstanceState;
  /** Request ids already handled, so a retried command stays a no-op across runs. */
  seenRequestIds: string[];
}

export interface InstanceWorkflowInput {
  tenant: string;
  instanceId: string;
  spec: ResolvedSpec;
  requestId: string;
  actor: string;
  settings?: Partial<LifecycleSettings>;
  /** Present when this run continues an earlier one. */
  carried?: CarriedState;
}

export interface CommandAccepted {
  operationId: string;
  /** True when this request id was handled before: nothing was done again. */
  duplicate: boolean;
}

type CommandUpdate = ReturnType<typeof defineUpdate<CommandAccepted, [CommandEnvelope]>>;

export const commandUpdates: Record<Command['kind'], CommandUpdate> = {
  scale: defineUpdate('scale'),
  restart: defineUpdate('restart'),
  upgrade: defineUpdate('upgrade'),
  'security-upgrade': defineUpdate('security-upgrade'),
  backup: defineUpdate('backup'),
  'change-settings': defineUpdate('change-settings'),
  deprovision: defineUpdate('deprovision'),
};

export const stateQuery = defineQuery<InstanceState | null>('state');
