// What the worker of the scheduled task queue registers: only the Schedules' runs, so no other
// workflow can run on that queue. The main bundle (../index.ts) has them too, for runs of
// Schedules made before the runs had their own queue.
export { maintenanceRunWorkflow, maintenanceWindowWorkflow, scheduleKeeperWorkflow, scheduledBackupWorkflow } from './workflows.js';
