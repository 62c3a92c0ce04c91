// npm run alerts:test
// Runs the alert rules' unit tests (deploy/kubernetes/components/monitoring/prometheus-rules.test.yaml)
// with Prometheus's own rule engine, `promtool test rules`, from the toolchain. promtool reads plain
// rule files, so the PrometheusRule's groups are written beside a copy of the tests first.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { resolveToolchain } from '../stack/toolchain.js';
import { ROOT } from './generate-claim-crd.js';

export const MONITORING_DIR = join(ROOT, 'deploy/kubernetes/components/monitoring');
const UNIT_TESTS = 'prometheus-rules.test.yaml';
/** The name the unit tests' rule_files gives. */
const RULES_FILE = 'claimflow.rules.yaml';

/** The unit tests as written, for a check of what they cover. */
export const readAlertUnitTests = () =>
  parse(readFileSync(join(MONITORING_DIR, UNIT_TESTS), 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };

/** `promtool test rules` over the given rule groups; its exit code and what it printed. */
export async function testAlertRules(promtool: string, groups: unknown[]): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'claimflow-alerts-'));
  try {
    writeFileSync(join(dir, RULES_FILE), stringify({ groups }));
    writeFileSync(join(dir, UNIT_TESTS), readFileSync(join(MONITORING_DIR, UNIT_TESTS)));
    return await new Promise((resolve, reject) => {
      const child = spawn(promtool, ['test', 'rules', join(dir, UNIT_TESTS)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? 1, output }));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const rules = parse(readFileSync(join(MONITORING_DIR, 'prometheus-rules.yaml'), 'utf8')) as { spec: { groups: unknown[] } };
  const promtool = join(await resolveToolchain(ROOT), 'promtool');
  const { code, output } = await testAlertRules(promtool, rules.spec.groups);
  process.stdout.write(output);
  process.exitCode = code;
}
