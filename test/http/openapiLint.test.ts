// CI lints the API document with a maintained OpenAPI linter (@redocly/cli, config: redocly.yaml), on the
// document exactly as GET /openapi.json serves it. Offline: no telemetry, no update check.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openApiDocument } from '../../src/http/openapi';

const ROOT = path.resolve(__dirname, '..', '..');
const REDOCLY = path.join(ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');

test('the API document passes redocly lint (recommended-strict, redocly.yaml)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-lint-'));
  try {
    const file = path.join(dir, 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(openApiDocument(), null, 2));
    const run = spawnSync(process.execPath, [REDOCLY, 'lint', file, '--config', path.join(ROOT, 'redocly.yaml'), '--format', 'stylish'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1', CI: 'true' },
    });
    // The linter's own report is the failure message: it names each rule and JSON pointer.
    if (run.status !== 0) throw new Error(`redocly lint failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
    expect(run.status).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the document states the configured batch limit', () => {
  const doc = openApiDocument({ batchMaxOrders: 250 }) as { paths: Record<string, { post: { summary: string } }>; components: { schemas: Record<string, { properties: { orders: { maxItems: number } } }> } };
  expect(doc.paths['/v1/batches']!.post.summary).toContain('250');
  expect(doc.components.schemas.Batch!.properties.orders.maxItems).toBe(250);
});
