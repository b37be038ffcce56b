// A batch's audit trail: one record per waybill, in the orders' order, on an intact chain, however many
// transactions the print writes them in; a reprint of many waybills likewise. A short print's records
// commit in its save's transaction.

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
});
