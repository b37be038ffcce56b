// kill -9 in the middle of a batch, of a real `waybill serve` child and of a real `waybill print` child:
// nothing of the killed runs is recorded, their relay numbers never bridge a call, and the next start
// (of the service, then of the CLI) returns the print's slots and removes its `.partial` file, and ends
// the streamed batch's numbers in quarantine (its pages left as they were made). Afterwards the live
// bindings are exactly those of recorded waybills and the audit chain verifies.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { main } from '../../src/cli';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import { PREAMBLE } from '../support/raceProcesses';
import { startServiceProcess } from '../support/serviceProcess';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '..', '..');

let seq = 0;
const orders = (n: number) => Array.from({ length: n }, () => ({ ...ZT, orderId: `CR-${process.pid}-${++seq}` }));

/** A `waybill print` child; `killed` SIGKILLs it, `done` waits for its exit code. */
function cliPrint(env: NodeJS.ProcessEnv, file: string, out: string) {
  const script = `${PREAMBLE}
    src('cli.ts').main(${JSON.stringify(['print', file, '--out', out])}).then((code) => { process.exitCode = code; });`;
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    done: async () => ({ code: await exited, stderr }),
  };
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never happened: ${what}`);
}

describe.each(STORE_BACKENDS)('%s after kill -9 mid-batch', (_name, backend) => {
  let db: TestDatabase;
  let dir: string;
  let env: Record<string, string>;
  let services: Services;

  beforeAll(async () => {
    db = await backend.open();
    dir = db.location.backend === 'sqlite' ? path.dirname(db.location.file) : fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-crash-'));
    env = {
      WAYBILL_DATA_DIR: dir,
      ...(db.location.backend === 'postgres' ? { DATABASE_URL: db.location.url } : {}),
      WAYBILL_MASTER_KEY: randomBytes(32).toString('base64'),
      WAYBILL_TOKEN_KEY: randomBytes(32).toString('base64'),
      WAYBILL_RELAY_NUMBERS: '+8617000000001,+8617000000002',
      WAYBILL_API_RATE_PER_SECOND: '10000',
      WAYBILL_LOG_LEVEL: 'silent',
    };
    services = await openServices(loadConfig(env), () => {}); // this test's view: the relay provider, as the PBX route uses it
  });
  afterAll(async () => {
    await services.close();
    await db.close();
  });

  const count = async (sql: string) => Number((await db.query(sql))[0]!.n);
  const provisional = () => db.query('SELECT number, ext FROM relay_bindings WHERE lease_id IS NOT NULL') as Promise<{ number: string; ext: string }[]>;
  const partials = (outDir: string) => fs.readdirSync(outDir).filter((f) => f.endsWith('.partial'));
  const resolveAll = (slots: { number: string; ext: string }[]) => Promise.all(slots.map(async (s) => (await services.relay!.resolve({ to: s.number, ext: s.ext }, new Date())).action));

  /**
   * The store holds only whole runs: every binding belongs to a recorded waybill and holds its slot,
   * nothing provisional; the `quarantined` bindings of the killed streamed batch are ended and shredded.
   */
  async function expectOnlyRecordedRuns(quarantined: number): Promise<void> {
    expect(await count('SELECT count(*) AS n FROM relay_bindings WHERE lease_id IS NOT NULL')).toBe(0);
    const unrecorded = 'FROM relay_bindings b WHERE NOT EXISTS (SELECT 1 FROM waybills w WHERE w.id = b.waybill_id)';
    expect(await count(`SELECT count(*) AS n ${unrecorded}`)).toBe(quarantined);
    expect(await count(`SELECT count(*) AS n ${unrecorded} AND ended_at IS NOT NULL AND sealed IS NULL`)).toBe(quarantined);
    expect(await count('SELECT count(*) AS n FROM relay_slots s WHERE NOT EXISTS (SELECT 1 FROM relay_bindings b WHERE b.id = s.binding_id)')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM print_leases')).toBe(0);
    // No waybill without its print job and paper copies: whole runs only.
    expect(await count('SELECT count(*) AS n FROM waybills w WHERE NOT EXISTS (SELECT 1 FROM copy_prints c WHERE c.waybill_id = w.id)')).toBe(0);
    const recorded = await count('SELECT count(*) AS n FROM waybills');
    expect(await count('SELECT count(*) AS n FROM relay_bindings')).toBe(2 * recorded + quarantined);
  }

  it('records nothing of the killed runs, never bridges their numbers, and the next starts clean up after them', async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-crash-out-'));
    const lines: string[] = [];
    expect(await apiKeyCommand(['create', '--role', 'warehouse', '--name', 'acme wms', '--client', 'acme'], services, (l) => lines.push(l))).toBe(0);
    const key = /^(wb[ckt]_\S+)$/m.exec(lines.join('\n'))![1]!;
    const bigFile = path.join(outDir, 'orders.ndjson');
    fs.writeFileSync(bigFile, orders(400).map((o) => JSON.stringify(o)).join('\n'));

    // 1. A service killed while it streams a batch.
    const service = await startServiceProcess(env);
    const batch = fetch(`${service.url}/v1/batches`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ orders: orders(400) }) })
      .then((r) => r.arrayBuffer())
      .catch(() => undefined);
    await until('the batch has bound relay numbers', async () => (await provisional()).length >= 20);
    await service.kill();
    await batch;

    // 2. A CLI print killed while it writes its file.
    const streamed = await provisional();
    const killedFromCli = streamed.length;
    const print = cliPrint(env, bigFile, path.join(outDir, 'labels.pdf'));
    await until('the print has bound relay numbers', async () => (await provisional()).length >= killedFromCli + 20 && partials(outDir).length === 1);
    await print.kill();

    const dead = await provisional();
    expect(await count('SELECT count(*) AS n FROM waybills')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM print_jobs')).toBe(0);
    expect(new Set(await resolveAll(dead))).toEqual(new Set(['reject'])); // before any clean-up

    // 3. The next service start sweeps them: the print's slots back, its .partial gone, the batch's slots
    // held in quarantine.
    const restarted = await startServiceProcess(env);
    await restarted.stop();
    await expectOnlyRecordedRuns(streamed.length);
    expect(await count('SELECT count(*) AS n FROM relay_slots')).toBe(streamed.length);
    expect(partials(outDir)).toEqual([]);
    expect(new Set(await resolveAll(dead))).toEqual(new Set(['reject']));

    // 4. Another print killed; the next CLI print removes its leftovers before printing, and prints.
    const again = cliPrint(env, bigFile, path.join(outDir, 'labels.pdf'));
    await until('the second print has bound relay numbers', async () => (await provisional()).length >= 20 && partials(outDir).length === 1);
    await again.kill();
    const smallFile = path.join(outDir, 'small.ndjson');
    fs.writeFileSync(smallFile, orders(3).map((o) => JSON.stringify(o)).join('\n'));
    const next = await cliPrint(env, smallFile, path.join(outDir, 'small.pdf')).done();
    expect(next).toEqual({ code: 0, stderr: expect.stringContaining('printed 3 waybill(s)') });
    expect(partials(outDir)).toEqual([]);
    await expectOnlyRecordedRuns(streamed.length);
    expect(await count('SELECT count(*) AS n FROM waybills')).toBe(3);

    const verify: string[] = [];
    expect(await main(['audit', 'verify'], (l) => verify.push(l), env)).toBe(0);
    fs.rmSync(outDir, { recursive: true, force: true });
  });
});
