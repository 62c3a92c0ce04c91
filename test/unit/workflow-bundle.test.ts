import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workflowBundle } from '../support/lifecycle.js';

// A workflow thread evaluates a workflow's modules anew for each workflow it starts or replays, and
// building the domain's zod schemas was most of that cost (BENCHMARKS.md, thirty-sixth session).
// Lint keeps src/workflows off the built schemas; this holds the whole bundle to it, domain
// modules included: only the module the worker preloads once per thread builds them.

const PRELOADED = './src/workflows/shared-modules.ts';

/** The bundle's modules (webpack's development ids) and the modules each one requires. */
function moduleGraph(code: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const headers = [...code.matchAll(/^\/\*\*\*\/ "([^"]+)":?/gm)];
  headers.forEach((header, i) => {
    const body = code.slice(header.index, headers[i + 1]?.index ?? code.length);
    graph.set(header[1]!, [...body.matchAll(/__webpack_require__\(\/\*! [^*]* \*\/ "([^"]+)"\)/g)].map((m) => m[1]!));
  });
  return graph;
}

test('the workflow bundle builds the domain schemas only in the module preloaded once per thread', async () => {
  const graph = moduleGraph((await workflowBundle()).code);
  assert.ok(graph.has(PRELOADED) && graph.has('./src/workflows/instance/workflow.ts'), 'the bundle lists its modules by path');

  assert.ok(!graph.has('./src/domain/schemas.ts'), 'the built schemas (src/domain/schemas.ts) are not in the workflow bundle');
  const isZod = (id: string) => id.startsWith('./node_modules/zod/');
  const buildsSchemas = [...graph]
    .filter(([id, requires]) => !isZod(id) && requires.some((required) => isZod(required) || required === './src/domain/define-schemas.ts'))
    .map(([id]) => id)
    .sort();
  assert.deepEqual(buildsSchemas, ['./src/domain/define-schemas.ts', PRELOADED]);
});
