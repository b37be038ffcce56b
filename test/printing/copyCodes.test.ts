// A copy code names one copy for good, so a print never issues one that is recorded already or that it
// issued itself: a waybill whose new codes clash is laid out again with others, and the run is saved
// whole instead of failing at its end on the store's uniqueness.

import fs from 'node:fs';
import path from 'node:path';
import { ChainedAuditLog } from '../../src/audit/auditLog';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { parseOrders } from '../../src/order/readOrders';
import * as copyCode from '../../src/printing/copyCode';
import { printWaybills, reprintWaybills, type PrintDeps } from '../../src/printing/printWaybills';
import { JsonSink } from '../../src/printing/waybillSink';
import { memoryOutput } from '../../src/render/memoryOutput';
import { SqlAuditRepository } from '../../src/store/auditRepository';
import { sqliteDatabase } from '../../src/store/database';
import { SqliteStore } from '../../src/store/sqliteStore';
import { printDeps } from '../support/printDeps';
import type { Order } from '../../src/order/orderSchema';

const ROOT = path.join(__dirname, '..', '..');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-4copy');
const orders = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson').filter((o) => o.parcel.pieces === 1);

let store: SqliteStore;
let deps: PrintDeps;
beforeEach(() => {
  store = SqliteStore.open(':memory:');
  deps = printDeps({ store, audit: new ChainedAuditLog(new SqlAuditRepository(sqliteDatabase(store.database))) });
});
afterEach(async () => {
  jest.restoreAllMocks();
  await store.close();
});

const print = (batch: Order[], prefix: string) =>
  printWaybills(deps, {
    orders: batch.map((o, i) => ({ ...o, orderId: `${prefix}-${i}` })),
    template,
    format: 'json',
    sink: new JsonSink(memoryOutput().stream),
    channel: 'cli',
    host: 'test',
    operator: 'test',
  });

const recorded = () => (store.database.prepare('SELECT copy_code FROM copy_prints').all() as { copy_code: string }[]).map((r) => r.copy_code);

/** The next codes drawn are these (then random ones again). */
function drawNext(...codes: string[]): void {
  const real = copyCode.newCopyCode;
  const queue = [...codes];
  jest.spyOn(copyCode, 'newCopyCode').mockImplementation(() => queue.shift() ?? real());
}

it('a print never reuses a code the store holds: the waybill gets others and the print is saved', async () => {
  await print(orders.slice(0, 1), 'first');
  const earlier = recorded();
  expect(earlier).toHaveLength(template.copies.length);

  drawNext(earlier[0]!);
  await print(orders.slice(1, 2), 'second');
  const all = recorded();
  expect(all).toHaveLength(2 * template.copies.length);
  expect(new Set(all).size).toBe(all.length);
});

it('a print never issues one code twice, within a waybill or across its waybills', async () => {
  drawNext('AAAA-AAAA', 'AAAA-AAAA', 'BBBB-BBBB', 'CCCC-CCCC', 'DDDD-DDDD', 'EEEE-EEEE', 'FFFF-FFFF', 'GGGG-GGGG', 'BBBB-BBBB');
  await print(orders.slice(0, 3), 'batch');
  const all = recorded();
  expect(all).toHaveLength(3 * template.copies.length);
  expect(new Set(all).size).toBe(all.length);
});

it('a reprint never reuses a recorded code either', async () => {
  await print(orders.slice(0, 1), 'again');
  const { waybill_no } = store.database.prepare('SELECT waybill_no FROM waybills').get() as { waybill_no: string };
  const waybill = (await store.findWaybillByNo(waybill_no))!;
  drawNext(...recorded());
  await reprintWaybills(deps, { waybills: [waybill], template, format: 'json', sink: new JsonSink(memoryOutput().stream), channel: 'cli', host: 'test', operator: 'test' });
  const all = recorded();
  expect(all).toHaveLength(2 * template.copies.length);
  expect(new Set(all).size).toBe(all.length);
});
