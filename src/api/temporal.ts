import {
  WorkflowClient, WorkflowExecutionAlreadyStartedError, WorkflowUpdateStage,
  type Client, type WorkflowClientInterceptor, type WorkflowExecutionStatusName,
} from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { configureFleet, fleetStatus, type FleetTarget } from '../clients/fleet.js';
import { describeIfKept } from '../clients/workflow-runs.js';
import { workflowIdFor, type CommandEnvelope, type InstanceState, type MaintenanceRequest } from '../domain/index.js';
import {
  INSTANCE_WORKFLOW_TYPE, commandUpdates, initialInstanceSearchAttributes, maintenanceUpdate, stateQuery,
  type FleetStatus, type InstanceWorkflowInput,
} from '../workflows/messages.js';
import type { instanceWorkflow } from '../workflows/index.js';

// The API's write side: commands go to an instance's workflow as Updates, creation starts the
// workflow. Every call has a deadline, so a Temporal (or worker) that does not answer becomes a
// 503 instead of a hung request.

export type StartResult = { started: true } | { started: false; existing: InstanceWorkflowInput };

/** How an instance's latest workflow run stands, as Temporal tells it. */
export interface WorkflowRun {
  status: WorkflowExecutionStatusName;
  closedAt?: Date;
}

export class InstanceCommands {
  private readonly workflows: WorkflowClient;
  /** Envelopes whose update came back already completed (rejected, or done): their outcome is known at once. */
  private readonly completedAtStart = new WeakSet<object>();

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly timeoutMs: number,
  ) {
    const recordOutcome: WorkflowClientInterceptor = {
      startUpdate: async (input, next) => {
        const output = await next(input);
        const envelope = input.args[0];
        if (output.outcome && typeof envelope === 'object' && envelope !== null) this.completedAtStart.add(envelope);
        return output;
      },
    };
    const inherited = client.options.interceptors.workflow;
    this.workflows = new WorkflowClient({
      connection: client.connection,
      namespace: client.options.namespace,
      dataConverter: client.options.dataConverter,
      identity: client.options.identity,
      interceptors: [...(Array.isArray(inherited) ? inherited : []), recordOutcome],
    });
  }

  private deadline(): number {
    return Date.now() + this.timeoutMs;
  }

  /** Starts the instance's workflow; when one already runs under this name, returns how it was started. */
  async start(input: InstanceWorkflowInput): Promise<StartResult> {
    const workflowId = workflowIdFor(input.tenant, input.spec.name);
    try {
      await this.workflows.withDeadline(this.deadline(), () =>
        this.workflows.start<typeof instanceWorkflow>(INSTANCE_WORKFLOW_TYPE, {
          workflowId,
          taskQueue: this.taskQueue,
          args: [input],
          typedSearchAttributes: initialInstanceSearchAttributes(input),
          // A deleted instance's workflow has completed: its name may be used again.
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          workflowIdConflictPolicy: 'FAIL',
        }),
      );
      return { started: true };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      return { started: false, existing: await this.startInput(workflowId) };
    }
  }

  /** The input the running workflow was started with (kept across continue-as-new). */
  private async startInput(workflowId: string): Promise<InstanceWorkflowInput> {
    const response = await this.workflows.withDeadline(this.deadline(), () =>
      this.workflows.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId },
        maximumPageSize: 1,
      }),
    );
    const started = response.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    let payloads = (started?.input?.payloads ?? []) as Payload[];
    const converter = this.client.options.loadedDataConverter;
    for (const codec of [...converter.payloadCodecs].reverse()) payloads = await codec.decode(payloads);
    const first = payloads[0];
    if (!first) throw new Error(`workflow ${workflowId} has no start input`);
    return converter.payloadConverter.fromPayload<InstanceWorkflowInput>(first);
  }

  /**
   * Sends a command and returns once the workflow has accepted it. A rejection by the workflow's
   * validator throws WorkflowUpdateFailedError whose cause's type is the rejection code.
   */
  async send(tenant: string, name: string, envelope: CommandEnvelope): Promise<void> {
    const handle = this.workflows.getHandle(workflowIdFor(tenant, name));
    const update = await this.workflows.withDeadline(this.deadline(), () =>
      handle.startUpdate(commandUpdates[envelope.command.kind], {
        args: [envelope],
        updateId: envelope.requestId,
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      }),
    );
    // Only read the result when it is already there: otherwise result() would wait for the whole operation.
    if (this.completedAtStart.has(envelope)) await this.workflows.withDeadline(this.deadline(), () => update.result());
  }

  /** Waits (within the call deadline) for the instance's current workflow run to end; false if it did not. */
  async waitUntilClosed(tenant: string, name: string): Promise<boolean> {
    const handle = this.workflows.getHandle(workflowIdFor(tenant, name));
    try {
      await this.workflows.withDeadline(this.deadline(), () => handle.result());
      return true;
    } catch {
      return false;
    }
  }

  /** The instance's latest workflow run; null once Temporal has none (never started, or past the namespace's retention). */
  async latestRun(tenant: string, name: string): Promise<WorkflowRun | null> {
    const handle = this.workflows.getHandle(workflowIdFor(tenant, name));
    const run = await this.workflows.withDeadline(this.deadline(), () => describeIfKept(handle));
    return run ? { status: run.status.name, ...(run.closeTime ? { closedAt: run.closeTime } : {}) } : null;
  }

  /** The workflow's own view of the instance (used only where the read model may lag). */
  async state(tenant: string, name: string): Promise<InstanceState | null> {
    const handle = this.workflows.getHandle(workflowIdFor(tenant, name));
    return this.workflows.withDeadline(this.deadline(), () => handle.query(stateQuery));
  }

  /**
   * Opens a maintenance window now, outside the instance's schedule: the instance's maintenance
   * Update, returned once its validator accepted it. A refusal throws WorkflowUpdateFailedError.
   */
  async openMaintenance(tenant: string, name: string, request: MaintenanceRequest): Promise<void> {
    const handle = this.workflows.getHandle(workflowIdFor(tenant, name));
    await this.workflows.withDeadline(this.deadline(), () =>
      handle.startUpdate(maintenanceUpdate, { args: [request], updateId: request.runId, waitForStage: WorkflowUpdateStage.ACCEPTED }),
    );
  }

  async ping(timeoutMs: number): Promise<void> {
    await this.workflows.withDeadline(Date.now() + timeoutMs, () =>
      this.workflows.workflowService.describeNamespace({ namespace: this.client.options.namespace }),
    );
  }
}

/** The fleet's maintenance coordinator (a cap on concurrent maintenance, pause/resume), with deadlines. */
export class MaintenanceFleet {
  constructor(
    private readonly target: FleetTarget,
    private readonly timeoutMs: number,
  ) {}

  private within<T>(call: () => Promise<T>): Promise<T> {
    return this.target.client.withDeadline(Date.now() + this.timeoutMs, call);
  }

  status(): Promise<FleetStatus> {
    return this.within(() => fleetStatus(this.target));
  }

  configure(change: { maxConcurrent?: number; paused?: boolean }): Promise<FleetStatus> {
    return this.within(() => configureFleet(this.target, change));
  }
}
