// The README's walkthrough works exactly as written: every ```sh walkthrough block, in order, in one bash
// with `set -euo pipefail`, against a real `waybill serve` (its address put where the README says
// localhost:8080) and the real `waybill` command, on a fresh data directory, from a directory that has
// the repository's samples. A README edit that breaks a step fails here.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PREAMBLE } from '../support/raceProcesses';
import { startServiceProcess, type ServiceProcess } from '../support/serviceProcess';

const ROOT = path.join(__dirname, '..', '..');

/** The README's runnable blocks: fenced as ```sh walkthrough. */
export function walkthroughBlocks(readme: string): string[] {
  return [...readme.matchAll(/^```sh walkthrough\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe('README walkthrough', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-readme-'));
  const env = { WAYBILL_DATA_DIR: path.join(dir, 'data'), WAYBILL_RELAY_NUMBERS: '+8617000000001,+8617000000002', WAYBILL_LOG_LEVEL: 'silent', NODE_PATH: path.join(ROOT, 'node_modules') };
  let service: ServiceProcess;

  beforeAll(async () => {
    service = await startServiceProcess(env);
  });
  afterAll(async () => {
    await service?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs every step against a real server and the real command', () => {
    const blocks = walkthroughBlocks(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThan(0);
    const work = path.join(dir, 'work');
    fs.mkdirSync(work);
    fs.symlinkSync(path.join(ROOT, 'samples'), path.join(work, 'samples'));
    const runner = path.join(dir, 'waybill.js');
    fs.writeFileSync(runner, `${PREAMBLE}\nsrc('cli.ts').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });`);
    const host = new URL(service.url).host;
    const script = ['set -euo pipefail', `waybill() { ${JSON.stringify(process.execPath)} ${JSON.stringify(runner)} "$@"; }`, ...blocks].join('\n').replaceAll('localhost:8080', host);

    const run = spawnSync('bash', ['-c', script], { cwd: work, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
    if (run.status !== 0) throw new Error(`the walkthrough stopped (exit ${run.status}):\n${run.stderr}`);
    for (const pdf of ['preview.pdf', 'label.pdf', 'courier.pdf', 'label2.pdf', 'batch.pdf']) expect(fs.readFileSync(path.join(work, pdf)).subarray(0, 5).toString()).toBe('%PDF-');
  });
});
