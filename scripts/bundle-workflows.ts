// Prebuilds the workflow bundle, so a production worker starts without running webpack:
//
//   tsx scripts/bundle-workflows.ts [out]      (default dist/workflow-bundle.js)
//
// The Dockerfile runs it in its build stage; the worker loads the file when WORKER_WORKFLOW_BUNDLE
// names it. The bundle is built from the same entry the worker bundles at start-up otherwise.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKFLOWS_PATH, bundleClaimflowWorkflows } from '../src/worker/create-worker.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(root, process.argv[2] ?? 'dist/workflow-bundle.js');

const started = Date.now();
const { code } = await bundleClaimflowWorkflows();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, code);
console.log(`wrote ${relative(root, out)} (${(code.length / 1024).toFixed(0)} KiB) from ${relative(root, WORKFLOWS_PATH)} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
