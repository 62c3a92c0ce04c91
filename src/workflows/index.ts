// Every workflow the worker registers. Workflow code is bundled and replayed: see eslint.config.js
// for what it may not import.
export { instanceWorkflow } from './instance/workflow.js';
