import type { Client } from '@temporalio/client';
import { configureFleetUpdate, fleetStatusQuery, type FleetInput, type FleetStatus } from '../workflows/messages.js';

// Controls of the fleet's maintenance coordinator, for the API and operators' scripts. The
// coordinator is started on first use, so controls work before any maintenance has run.

export interface FleetTarget {
  client: Client;
  fleetWorkflowId: string;
  taskQueue: string;
  defaults: FleetInput;
}

async function fleetHandle(target: FleetTarget) {
  return target.client.workflow.start('maintenanceFleetWorkflow', {
    workflowId: target.fleetWorkflowId,
    taskQueue: target.taskQueue,
    args: [target.defaults],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}

export async function configureFleet(target: FleetTarget, change: { maxConcurrent?: number; paused?: boolean }): Promise<FleetStatus> {
  return (await fleetHandle(target)).executeUpdate(configureFleetUpdate, { args: [change] });
}

export async function fleetStatus(target: FleetTarget): Promise<FleetStatus> {
  return (await fleetHandle(target)).query(fleetStatusQuery);
}
