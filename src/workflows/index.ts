// Every workflow the worker registers. Workflow code is bundled and replayed: see eslint.config.js
// for what it may not import.
export { instanceWorkflow } from './instance/workflow.js';
export { maintenanceFleetWorkflow } from './fleet/workflow.js';
export { maintenanceRunWorkflow, maintenanceWindowWorkflow, scheduleKeeperWorkflow, scheduledBackupWorkflow } from './scheduled/workflows.js';
export { notificationWorkflow } from './notifications/workflow.js';
