// Creating a fleet through the API (from the load generator process) and waiting until the read
// model shows it Ready.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { DAYS_OF_WEEK, InstanceSpec, defaultMaintenanceWindow, workflowIdFor, type MaintenanceWindow } from '../../src/domain/index.js';
import { INSTANCE_WORKFLOW_TYPE, initialInstanceSearchAttributes, type InstanceWorkflowInput, type LifecycleSettings } from '../../src/workflows/messages.js';
import type { LoadResult, PlannedRequest } from '../loadgen.js';
import { runLoadProcess } from './load.js';
import { countPhase } from './marks.js';
import type { BenchStack, Service } from './stack.js';
import { pool as inParallel, waitUntil } from './util.js';

export interface FleetMember {
  tenant: string;
  name: string;
}

/** `count` instances spread over the tenants round-robin, named <prefix>-<i>. */
export function fleet(tenants: string[], count: number, prefix: string): FleetMember[] {
  return Array.from({ length: count }, (_, i) => ({ tenant: tenants[i % tenants.length]!, name: `${prefix}-${i}` }));
}

/**
 * The instance's default window moved to the weekday three days from now. The defaults all open
 * between 00:00 and 06:30 UTC on their day, so a bench run at those hours would otherwise see its
 * instances' Schedules start backups and security upgrades in the middle of what it measures (a
 * footprint run at 04:10 UTC on a Monday did: about 240 maintenances in its idle minute).
 */
export function quietMaintenanceWindow(member: FleetMember, now = new Date()): MaintenanceWindow {
  const todayFromMonday = (now.getUTCDay() + 6) % 7;
  return { ...defaultMaintenanceWindow(member.tenant, member.name), dayOfWeek: DAYS_OF_WEEK[(todayFromMonday + 3) % 7]! };
}

export function createRequests(stack: BenchStack, tokens: Record<string, string>, members: FleetMember[], spec: Record<string, unknown> = {}): PlannedRequest[] {
  return members.map((m) => ({
    method: 'POST',
    url: `${stack.apiUrl}/v1/instances`,
    headers: { authorization: `Bearer ${tokens[m.tenant]!}` },
    body: JSON.stringify({ name: m.name, version: '16.9', size: 'small', maintenanceWindow: quietMaintenanceWindow(m), ...spec }),
    tag: `${m.tenant}/${m.name}`,
  }));
}

/** POSTs every member (closed loop, `concurrency` at once) from the load generator process. */
export async function createThroughApi(stack: BenchStack, tokens: Record<string, string>, members: FleetMember[], concurrency: number, spec?: Record<string, unknown>, onStart?: (s: Service) => void): Promise<LoadResult> {
  const requests = createRequests(stack, tokens, members, spec);
  const result = await runLoadProcess(stack, { requests, concurrency, count: requests.length, recordAll: true }, onStart);
  const failed = (result.all ?? []).filter((s) => s.status !== 202 && s.status !== 200);
  if (failed.length > 0) throw new Error(`${failed.length} of ${members.length} creates failed, e.g. ${failed[0]!.status} ${failed[0]!.body ?? ''} ${result.errors[0] ?? ''}`);
  return result;
}

export async function waitForReady(pool: pg.Pool, expected: number, log: (line: string) => void, timeoutMs: number): Promise<void> {
  let last = 0;
  await waitUntil(`${expected} instances Ready in the read model`, async () => (last = await countPhase(pool, 'ready')) >= expected, {
    timeoutMs,
    progress: async () => `${last} ready, ${await countPhase(pool, 'failed')} failed`,
    log,
  });
}

/** Starts instance workflows straight through Temporal (as the API does, without HTTP). */
export async function startInstancesDirect(
  client: Client, taskQueue: string, members: FleetMember[], concurrency: number, settings?: Partial<LifecycleSettings>, window?: (member: FleetMember) => MaintenanceWindow,
): Promise<void> {
  await inParallel(members, concurrency, async (m) => {
    const spec = InstanceSpec.parse({ name: m.name, version: '16.9', size: 'small' });
    const input: InstanceWorkflowInput = {
      tenant: m.tenant, instanceId: randomUUID(), requestId: randomUUID(), actor: `tenant:bench`,
      spec: { ...spec, maintenanceWindow: window?.(m) ?? quietMaintenanceWindow(m) },
      ...(settings ? { settings } : {}),
    };
    await client.workflow.start(INSTANCE_WORKFLOW_TYPE, {
      workflowId: workflowIdFor(m.tenant, m.name),
      taskQueue,
      args: [input],
      typedSearchAttributes: initialInstanceSearchAttributes(input),
    });
  });
}
