// Lint rules that protect the two things TypeScript cannot: promises nobody awaits, and workflow
// code that would break Temporal's deterministic replay.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`]);

const replaySafeImports = {
  paths: [
    ...nodeBuiltins.map((name) => ({ name, message: 'Node built-ins are not allowed in workflow or domain code.' })),
    { name: '@temporalio/worker', message: 'Never bundle the worker into workflow code.' },
    { name: '@temporalio/client', message: 'Workflows talk to the outside through activities.' },
    { name: '@temporalio/activity', message: 'Workflows call activities through proxyActivities.' },
  ],
  patterns: [
    { group: ['**/activities/*', '**/activities/**', '!**/activities/index.js'], message: 'Import activities as types only (import type).', allowTypeImports: true },
    { group: ['pg', '@kubernetes/*', 'fastify', 'pino', 'uuid'], message: 'No I/O libraries in workflow or domain code.' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', '.local/', 'dist/', 'toolchain/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'bench/lib/profile-on-signal.mjs', 'bench/lib/server-timings.mjs', 'src/worker/workflow-threads-preload.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Tests read untyped Kubernetes objects and JSON bodies; asserting on them is the point.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Workflow code is replayed: no I/O, no clocks or randomness outside the SDK's deterministic ones.
    files: ['src/workflows/**/*.ts', 'src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', replaySafeImports],
      'no-restricted-globals': [
        'error',
        { name: 'setInterval', message: 'Use the workflow sleep/condition APIs.' },
        { name: 'process', message: 'Workflow code has no process environment.' },
      ],
    },
  },
  {
    // Each workflow evaluates its modules anew: building the domain's schemas there would cost
    // every workflow what its thread's shared copy costs once (src/workflows/shared-modules.ts).
    files: ['src/workflows/**/*.ts'],
    ignores: ['src/workflows/shared-modules.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: replaySafeImports.paths,
          patterns: [
            ...replaySafeImports.patterns,
            { group: ['**/domain/index.js', '**/domain/schemas.js', '**/domain/define-schemas.js'], message: 'Import the domain from domain/logic.js and its schemas from shared-modules.js (types may come from anywhere).', allowTypeImports: true },
          ],
        },
      ],
    },
  },
);
