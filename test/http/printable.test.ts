// Labels only for live waybills, and print numbers that count paper, through the real API on both
// databases: a cancelled waybill is refused on every print path (label, JSON view, printer send, job
// retry, the CLI retry) and its kept job is cancelled unsent; a purged one is gone. JSON views take no
// print number or copy code, a failed send keeps its number for its retry, and a newer print replaces a
// kept job instead of counting past it: the first paper has no reprint mark, the second says 重印 第1次.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { printerCommand } from '../../src/cli/printerCommands';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { main } from '../../src/cli';
import { loadConfig } from '../../src/config/config';
import { purgeDue } from '../../src/waybills/lifecycle';
import { openServices, type Services } from '../../src/wiring';
import { DAY_MS } from '../../src/time';
import { fakePrinter, type FakePrinter } from '../support/fakePrinter';
import { pdfText } from '../support/pdfProbe';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(120_000);


interface Copy {
  copy: string;
  copyCode?: string;
  fields: Record<string, string>;
}

describe.each(STORE_BACKENDS)('%s: no label without a live waybill; print numbers count paper', (_name, backend) => {
  let db: TestDatabase;
  let dir: string;
  let env: Record<string, string>;
  let services: Services;
  let running: RunningService;
  let line: FakePrinter;
  let key: string;
  let seq = 0;

  beforeAll(async () => {
    db = await backend.open();
    dir = db.location.backend === 'sqlite' ? path.dirname(db.location.file) : fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-printable-'));
    env = {
      WAYBILL_DATA_DIR: dir,
      ...(db.location.backend === 'postgres' ? { DATABASE_URL: db.location.url } : {}),
      WAYBILL_RETENTION_GRACE_DAYS: '1',
      WAYBILL_PRINTER_ATTEMPTS: '1',
      WAYBILL_PRINTER_NETWORKS: '127.0.0.1/32', // the fake printer is on loopback
      WAYBILL_LOG_LEVEL: 'silent',
    };
    services = await openServices(loadConfig(env), () => {});
    running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough().resume());
    const lines: string[] = [];
    expect(await apiKeyCommand(['create', '--role', 'warehouse', '--name', 'acme wms', '--client', 'acme'], services, (l) => lines.push(l))).toBe(0);
    key = /^(wb[ckt]_\S+)$/m.exec(lines.join('\n'))![1]!;
    line = await fakePrinter();
    // A printer that takes PDF, so what reached it can be read back as text.
    expect(await printerCommand(['add', 'acme-pdf', '--host', '127.0.0.1', '--port', String(line.port), '--language', 'pdf', '--client', 'acme'], services, () => {})).toBe(0);
  });

  afterAll(async () => {
    await line.off().catch(() => undefined);
    await running.shutdown();
    await services.close();
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = (method: string, route: string, body?: unknown) =>
    fetch(`${running.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  async function expectProblem(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status, type: `https://waybill.example/problems/${code}` });
    return problem;
  }

  /** A new waybill, created as a JSON preview: nothing on paper yet. */
  async function created(): Promise<{ id: string; waybillNo: string }> {
    const res = await call('POST', '/v1/waybills', { ...ZT, orderId: `PR-${++seq}` });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; waybillNo: string };
  }

  /** A send to the printer while it is off: 502, the job kept. */
  async function failedSend(id: string): Promise<{ job: string; printNo: number }> {
    return (await expectProblem(await call('POST', `/v1/waybills/${id}/print`, { printer: 'acme-pdf', copies: ['courier'] }), 502, 'printer_unreachable')) as { job: string; printNo: number };
  }

  const cancel = async (id: string) => expect((await call('POST', `/v1/waybills/${id}/events`, { type: 'cancelled' })).status).toBe(201);
  const job = async (jobId: string) => (await (await call('GET', `/v1/print-jobs/${jobId}`)).json()) as { status: string; lastError?: string };
  const keptBody = async (jobId: string) => (await db.query('SELECT body FROM print_deliveries WHERE job_id = ?', jobId))[0]!.body;
  const cliRetry = async (jobId: string) => {
    const out: string[] = [];
    return { code: await main(['printers', 'retry', jobId], (l) => out.push(l), env), out: out.join('\n') };
  };
  const paperText = async (bytes: Buffer, name: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return pdfText(file);
  };

  it('refuses a cancelled waybill on every print path with 409, and cancels its kept job without sending it', async () => {
    const w = await created();
    await line.off();
    const kept = await failedSend(w.id);
    await cancel(w.id);

    await expectProblem(await call('GET', `/v1/waybills/${w.id}/label`), 409, 'cancelled');
    await expectProblem(await call('GET', `/v1/waybills/${w.id}/label?format=json`), 409, 'cancelled');
    await line.on();
    await expectProblem(await call('POST', `/v1/waybills/${w.id}/print`, { printer: 'acme-pdf' }), 409, 'cancelled');
    const refused = await expectProblem(await call('POST', `/v1/print-jobs/${kept.job}/retry`), 409, 'cancelled');
    expect(refused.detail).toMatch(/holds a cancelled waybill; it is not sent/);
    expect(line.jobs).toHaveLength(0);

    expect(await job(kept.job)).toMatchObject({ status: 'cancelled', lastError: expect.stringMatching(/cancelled waybill/) });
    expect(await keptBody(kept.job)).toBeNull(); // its bytes are shredded
    expect((await services.audit.forJob(kept.job)).map((r) => [r.action, r.outcome])).toEqual([['print', 'ok'], ['deliver', 'failed'], ['deliver', 'cancelled']]);
    const cli = await cliRetry(kept.job);
    expect(cli.code).toBe(65);
    expect(cli.out).toMatch(/cancelled waybill; it is not sent/);
    expect(line.jobs).toHaveLength(0);
  });

  it('answers 410 for a purged waybill on every print path, also for its kept job and the CLI retry', async () => {
    const w = await created();
    await line.off();
    const kept = await failedSend(w.id);
    await line.on();
    await cancel(w.id);
    const later = new Date(Date.now() + 2 * DAY_MS); // past the one day of retention
    expect(await purgeDue({ store: services.store, audit: services.audit, retentionGraceDays: 1, now: () => later })).toBeGreaterThanOrEqual(1);

    await expectProblem(await call('GET', `/v1/waybills/${w.id}/label`), 410, 'gone');
    await expectProblem(await call('GET', `/v1/waybills/${w.id}/label?format=json`), 410, 'gone');
    await expectProblem(await call('POST', `/v1/waybills/${w.id}/print`, { printer: 'acme-pdf' }), 410, 'gone');
    expect((await cliRetry(kept.job)).code).toBe(65);
    await expectProblem(await call('POST', `/v1/print-jobs/${kept.job}/retry`), 410, 'gone');
    expect(await job(kept.job)).toMatchObject({ status: 'cancelled', lastError: expect.stringMatching(/past its life/) });
    expect(line.jobs).toHaveLength(0);
  });

  it('counts paper only: JSON views, HEAD requests and failed sends take no number, so the first paper has no reprint mark and the second says 重印 第1次', async () => {
    const w = await created();
    // A link checker's or a proxy's HEAD prints nothing: the API does not serve HEAD (a GET there may record a print).
    const head = await call('HEAD', `/v1/waybills/${w.id}/label`);
    expect([head.status, head.headers.get('allow'), head.headers.get('x-print-number')]).toEqual([405, 'GET', null]);
    expect((await call('HEAD', '/v1/scan/abc?purpose=pickup')).status).toBe(405);
    for (let i = 0; i < 2; i++) {
      const view = await call('GET', `/v1/waybills/${w.id}/label?format=json`);
      expect(view.status).toBe(200);
      expect(view.headers.get('x-print-number')).toBeNull();
      const copies = ((await view.json()) as { copies: Copy[] }).copies;
      expect(copies.every((c) => c.copyCode === undefined && !c.fields.copyCode && !c.fields.reprint)).toBe(true);
    }
    expect(await db.query('SELECT copy_code FROM copy_prints WHERE waybill_id = ?', w.id)).toEqual([]);

    await line.off();
    const first = await failedSend(w.id);
    const kept = await db.query('SELECT copy_code, print_no FROM copy_prints WHERE job_id = ?', first.job);
    const second = await failedSend(w.id); // replaces the first kept job: same number, same copy code
    expect([first.printNo, second.printNo]).toEqual([1, 1]);
    expect(await db.query('SELECT copy_code, print_no FROM copy_prints WHERE job_id = ?', second.job)).toEqual(kept);
    expect(await job(first.job)).toMatchObject({ status: 'cancelled', lastError: `replaced by print job ${second.job}` });
    expect(await keptBody(first.job)).toBeNull();

    await line.on();
    const before = line.jobs.length;
    expect((await call('POST', `/v1/print-jobs/${second.job}/retry`)).status).toBe(200);
    await expectProblem(await call('POST', `/v1/print-jobs/${first.job}/retry`), 409, 'conflict'); // a replaced job never prints
    const paper = (await line.received(before + 1))[before]!;
    expect(line.jobs).toHaveLength(before + 1);
    const text = await paperText(paper, 'first-paper.pdf');
    expect(text).not.toMatch(/重印|REPRINT/);
    // The retry sent the kept job itself: the copy codes recorded with its number are on the paper.
    expect(kept).toEqual([{ copy_code: expect.any(String), print_no: 1 }]);
    expect(text).toContain(kept[0]!.copy_code as string);

    const next = (await (await call('GET', `/v1/waybills/${w.id}/label?format=json`)).json()) as { copies: Copy[] };
    expect(next.copies.map((c) => c.fields.reprint)).toEqual(Array(next.copies.length).fill('重印 第1次')); // the next paper, not yet taken
    const again = await call('GET', `/v1/waybills/${w.id}/label?copies=courier`);
    expect(again.headers.get('x-print-number')).toBe('2');
    expect(await paperText(Buffer.from(await again.arrayBuffer()), 'second-paper.pdf')).toMatch(/重印 第1次/);
  });

  it('gives a label fetched after a failed send the kept number, and the kept job can then no longer print', async () => {
    const w = await created();
    await line.off();
    const kept = await failedSend(w.id);
    await line.on();
    const label = await call('GET', `/v1/waybills/${w.id}/label?copies=courier`);
    expect(label.headers.get('x-print-number')).toBe('1');
    expect(await paperText(Buffer.from(await label.arrayBuffer()), 'fetched.pdf')).not.toMatch(/重印|REPRINT/);
    expect(await job(kept.job)).toMatchObject({ status: 'cancelled' });
    await expectProblem(await call('POST', `/v1/print-jobs/${kept.job}/retry`), 409, 'conflict');
  });
});
