// A batch's audit trail: one record per waybill, in the orders' order, on an intact chain, however many
// transactions the print writes them in; a reprint of many waybills likewise. A short print's records
// commit in its save's transaction; a long print's are kept with its save, so a process that dies after
// the save leaves them for the next sweep to append, each once.

import fs from 'node:fs';
import path from 'node:path';
import { ChainedAuditLog } from '../../src/audit/auditLog';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { parseOrders } from '../../src/order/readOrders';
import { printWaybills, reprintWaybills, type PrintDeps } from '../../src/printing/printWaybills';
import { JsonSink } from '../../src/printing/waybillSink';
import { memoryOutput } from '../../src/render/memoryOutput';
import { SqlAuditRepository } from '../../src/store/auditRepository';
import { sqliteDatabase } from '../../src/store/database';
import { SqliteStore } from '../../src/store/sqliteStore';
import { printDeps } from '../support/printDeps';
import { STORE_BACKENDS } from '../support/storeBackends';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-4copy');
const samples = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');
// More waybills than one group of appends (200), and not a multiple of it.
const BATCH = 450;

let store: SqliteStore;
let audit: ChainedAuditLog;
let deps: PrintDeps;
beforeAll(() => {
  store = SqliteStore.open(':memory:');
  audit = new ChainedAuditLog(new SqlAuditRepository(sqliteDatabase(store.database)));
  deps = printDeps({ store, audit });
});
afterAll(() => store.close());

const request = { template, format: 'json', channel: 'cli', host: 'test', operator: 'test' } as const;

it('a batch leaves one print record per waybill, in order, and the chain verifies', async () => {
  const orders = Array.from({ length: BATCH }, (_, i) => ({ ...samples[i % samples.length]!, orderId: `A-${i}` }));
  const printed = await printWaybills(deps, { ...request, orders, sink: new JsonSink(memoryOutput().stream) });

  const trail = await audit.forJob(printed.jobId);
  expect(trail.map((r) => r.waybillNo)).toEqual(printed.waybills.map((w) => w.waybillNo));
  expect(trail.every((r) => r.action === 'print' && r.outcome === 'ok')).toBe(true);
  // Consecutive records: nothing of another writer between them, nothing lost.
  expect(trail.map((r) => r.seq - trail[0]!.seq)).toEqual(trail.map((_, i) => i));
  expect((await audit.verify()).ok).toBe(true);

  const waybills = await store.waybillsOfJob(printed.jobId);
  waybills.sort((a, b) => printed.waybills.findIndex((w) => w.id === a.id) - printed.waybills.findIndex((w) => w.id === b.id));
  const again = await reprintWaybills(deps, { ...request, waybills, sink: new JsonSink(memoryOutput().stream) });
  const reprints = await audit.forJob(again.jobId);
  expect(reprints.map((r) => [r.action, r.waybillNo])).toEqual(printed.waybills.map((w) => ['reprint', w.waybillNo]));
  expect((await audit.verify()).ok).toBe(true);
});

describe.each(STORE_BACKENDS)('%s: a print and its audit records', (_name, backend) => {
  it('commit together: when the records cannot be written, nothing of the print is saved', async () => {
    const t = await backend.open();
    const deps = printDeps({ store: t.stores.store, audit: t.stores.audit });
    const print = () => printWaybills(deps, { ...request, orders: [{ ...samples[0]!, orderId: 'T-1' }], sink: new JsonSink(memoryOutput().stream) });
    const count = async (table: string) => Number((await t.query(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
    const before = await count('audit_log');

    // The log fails to link the records (as with its head row gone), inside the save's transaction.
    const log = t.stores.audit as unknown as { link: () => never };
    const link = log.link;
    log.link = () => {
      throw new Error('audit refused');
    };
    await expect(print()).rejects.toThrow('audit refused');
    expect([await count('waybills'), await count('print_jobs'), await count('audit_log')]).toEqual([0, 0, before]);

    log.link = link;
    const printed = await print();
    expect([await count('waybills'), await count('print_jobs')]).toEqual([1, 1]);
    expect((await t.stores.audit.forJob(printed.jobId)).map((r) => [r.action, r.waybillNo])).toEqual([['print', printed.waybills[0]!.waybillNo]]);
    expect((await t.stores.audit.verify()).ok).toBe(true);
    await t.close();
  });

  it('keep a long print\'s records with its save: a process dying after the save leaves them to the next sweep, each appended once', async () => {
    const t = await backend.open();
    const orders = Array.from({ length: BATCH }, (_, i) => ({ ...samples[i % samples.length]!, orderId: `K-${i}` }));
    // The process dies once the save has committed, before it appends a record.
    const dying = Object.assign(Object.create(Object.getPrototypeOf(t.stores.audit)), t.stores.audit, {
      appendPending: () => Promise.reject(new Error('killed after the save')),
    });
    await expect(printWaybills(printDeps({ store: t.stores.store, audit: dying }), { ...request, orders, sink: new JsonSink(memoryOutput().stream) })).rejects.toThrow('killed');
    const job = ((await t.query('SELECT id FROM print_jobs')) as { id: string }[])[0]!.id;
    expect(await t.stores.audit.forJob(job)).toEqual([]);

    // The next process's sweep appends them, in the orders' order; another sweep finds nothing left.
    const other = await t.reopen();
    const [a, b] = await Promise.all([t.stores.audit.appendPending(200), other.audit.appendPending(200)]);
    let rest = a + b;
    for (let n = 1; n; rest += n) n = await t.stores.audit.appendPending(200);
    expect(rest).toBe(BATCH);
    const saved = (await t.query('SELECT order_id, waybill_no FROM waybills')) as { order_id: string; waybill_no: string }[];
    const inOrder = saved.sort((x, y) => Number(x.order_id.slice(2)) - Number(y.order_id.slice(2))).map((w) => w.waybill_no);
    expect((await t.stores.audit.forJob(job)).map((r) => [r.action, r.waybillNo])).toEqual(inOrder.map((no) => ['print', no]));
    expect(Number((await t.query('SELECT count(*) AS n FROM audit_pending'))[0]!.n)).toBe(0);
    expect((await t.stores.audit.verify()).ok).toBe(true);
    await t.close();
  });
});

describe('entries a save keeps until they are appended', () => {
  it('are appended only with their seal: a row a database writer adds, edits or moves becomes a refusal record naming its job and place', async () => {
    const file = SqliteStore.open(':memory:');
    const keys = { activeKeyId: 'a1', keys: new Map([['a1', Buffer.alloc(32, 7)]]) };
    const keyed = new ChainedAuditLog(new SqlAuditRepository(sqliteDatabase(file.database)), keys);
    const orders = Array.from({ length: 210 }, (_, i) => ({ ...samples[i % samples.length]!, orderId: `S-${i}` }));
    // The print dies after its save: its 210 records are kept (past one group of 200), sealed.
    const dying = Object.assign(Object.create(Object.getPrototypeOf(keyed)), keyed, { appendPending: () => Promise.reject(new Error('killed after the save')) });
    await expect(printWaybills(printDeps({ store: file, audit: dying }), { ...request, orders, sink: new JsonSink(memoryOutput().stream) })).rejects.toThrow('killed');
    const db = file.database;
    const job = (db.prepare('SELECT id FROM print_jobs').get() as { id: string }).id;
    const kept = (idx: number) => (db.prepare('SELECT entry FROM audit_pending WHERE job_id = ? AND idx = ?').get(job, idx) as { entry: string }).entry;
    const forged = { at: '2026-12-01T03:00:00.000Z', actor: 'courier:c-1', action: 'scan', waybillNo: 'ZT1', purpose: 'delivery', outcome: 'ok', detail: { job } };
    // An entry written in without a seal, one edited under its seal, and a sealed one moved to another place.
    db.prepare('INSERT INTO audit_pending (job_id, idx, entry) VALUES (?, ?, ?)').run(job, 500, JSON.stringify({ entry: JSON.stringify(forged) }));
    const edited = JSON.parse(kept(3)) as { entry: string };
    db.prepare('UPDATE audit_pending SET entry = ? WHERE job_id = ? AND idx = 3').run(JSON.stringify({ ...edited, entry: edited.entry.replace('"print"', '"scan"') }), job);
    db.prepare('UPDATE audit_pending SET idx = 501 WHERE job_id = ? AND idx = 7').run(job);

    for (let n = 1; n; ) n = await keyed.appendPending(200);
    const trail = await keyed.forJob(job);
    expect(trail.filter((r) => r.action === 'print')).toHaveLength(208);
    expect(trail.filter((r) => r.action === 'scan')).toEqual([]);
    const refused = trail.filter((r) => r.action === 'refuse');
    expect(refused.map((r) => [r.actor, r.outcome, r.detail])).toEqual(
      [3, 500, 501].map((kept) => ['system', 'unsealed_audit_entry', { job, kept }]),
    );
    expect((await keyed.verify()).ok).toBe(true);
    file.close();
  });
});
