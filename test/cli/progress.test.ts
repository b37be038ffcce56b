// A long print shows its progress on a terminal and nowhere else: the real command in a child process,
// once on a pseudo-terminal (util-linux `script`) and once with stderr piped, as a script or CI log gets it.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PREAMBLE } from '../support/raceProcesses';

const ROOT = path.join(__dirname, '..', '..');
const ORDERS = 240; // above the bar's threshold (PROGRESS_FROM_ORDERS)

describe('waybill print progress', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-progress-'));
  const runner = path.join(dir, 'waybill.js');
  const orders = path.join(dir, 'orders.ndjson');
  // The runner lives outside the project: it finds the project's packages through NODE_PATH.
  const env = { ...process.env, WAYBILL_DATA_DIR: path.join(dir, 'data'), NODE_PATH: path.join(ROOT, 'node_modules') };

  beforeAll(() => {
    fs.writeFileSync(runner, `${PREAMBLE}\nsrc('cli.ts').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });`);
    const sample = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'order.json'), 'utf8'));
    fs.writeFileSync(orders, Array.from({ length: ORDERS }, (_, i) => JSON.stringify({ ...sample, orderId: `PG-${i}` })).join('\n'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('shows validation, a bar with rate and time left, and the summary on a terminal', () => {
    const command = `${process.execPath} ${runner} print ${orders} --client tty --out ${path.join(dir, 'tty.pdf')}`;
    const screen = execFileSync('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
    expect(screen).toContain(`validated ${ORDERS} orders in`);
    expect(screen).toMatch(new RegExp(`rendering \\[[#-]+\\] \\d+/${ORDERS} waybills \\| \\d+/s \\| \\w+ left`));
    expect(screen).toMatch(new RegExp(`printed ${ORDERS} waybill\\(s\\)`));
  });

  it('writes only the summary when stderr is not a terminal', () => {
    const run = spawnSync(process.execPath, [runner, 'print', orders, '--client', 'pipe', '--out', path.join(dir, 'pipe.pdf')], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
    expect(run.status).toBe(0);
    expect(run.stderr).not.toContain('rendering');
    expect(run.stderr).not.toContain('validated');
    expect(run.stderr).toMatch(new RegExp(`printed ${ORDERS} waybill\\(s\\)`));
  });
});
