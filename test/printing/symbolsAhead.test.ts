// A long print (and any print of the CLI) draws its QR tokens ahead and has its barcodes encoded on the
// render thread: every waybill's printed QR still opens that waybill and no other, and its Code128
// carries its number.

import fs from 'node:fs';
import path from 'node:path';
import { ChainedAuditLog } from '../../src/audit/auditLog';
import * as barcodes from '../../src/layout/barcodes';
import type { WaybillLayout } from '../../src/layout/layoutWaybill';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { parseOrders } from '../../src/order/readOrders';
import { printWaybills } from '../../src/printing/printWaybills';
import type { PrintedWaybill, WaybillSink } from '../../src/printing/waybillSink';
import { encodePng } from '../../src/render/pngEncoder';
import { useRenderThreadForEveryPrint } from '../../src/render/renderThread';
import { rasteriseLabel } from '../../src/render/rasterise';
import { SqlAuditRepository } from '../../src/store/auditRepository';
import { sqliteDatabase } from '../../src/store/database';
import { SqliteStore } from '../../src/store/sqliteStore';
import { hashToken } from '../../src/vault/qrToken';
import { decodeBarcodes } from '../support/barcodes';
import { printDeps } from '../support/printDeps';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-1ply-76x130');
const samples = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');

/** Keeps each waybill's first label, to read its QR back. */
class KeepingSink implements WaybillSink {
  readonly labels = new Map<string, WaybillLayout['labels'][number]>();
  async add(waybill: PrintedWaybill, layout: WaybillLayout): Promise<void> {
    this.labels.set(waybill.id, layout.labels[0]!);
  }
  async finish(): Promise<void> {}
}

it('every waybill of a long print carries a QR that opens it and a Code128 of its own number', async () => {
  const store = SqliteStore.open(':memory:');
  const audit = new ChainedAuditLog(new SqlAuditRepository(sqliteDatabase(store.database)));
  const deps = printDeps({ store, audit });
  // Long enough for the thread (from 32), and ending inside a group of 16.
  const orders = Array.from({ length: 70 }, (_, i) => ({ ...samples[i % samples.length]!, orderId: `Q-${i}` }));
  const sink = new KeepingSink();
  const printed = await printWaybills(deps, { template, format: 'pdf', channel: 'cli', host: 'test', operator: 'test', orders, sink });

  const hashes = new Set<string>();
  for (const index of [0, 15, 16, 33, 47, 48, 69]) {
    const { id, waybillNo } = printed.waybills[index]!;
    const symbols = await decodeBarcodes(encodePng([await rasteriseLabel(sink.labels.get(id)!)], template.dpi));
    expect(symbols.find((s) => s.format === 'CODE_128')?.text).toBe(waybillNo);
    const url = symbols.find((s) => s.format === 'QR_CODE')!.text;
    const token = url.slice('https://scan.example.com/w/'.length);
    const opened = await store.findWaybillByTokenHash(hashToken(token, deps.keys.tokenKey));
    expect(opened?.id).toBe(id);
    hashes.add(opened!.tokenHash);
  }
  expect(hashes.size).toBe(7);
  store.close();
});

it('a process that prints on the render thread (the CLI) has a one-waybill print’s barcodes made there, and they read back', async () => {
  useRenderThreadForEveryPrint();
  const inLine = [jest.spyOn(barcodes, 'encodeQr'), jest.spyOn(barcodes, 'encodeCode128')];
  const store = SqliteStore.open(':memory:');
  const audit = new ChainedAuditLog(new SqlAuditRepository(sqliteDatabase(store.database)));
  const deps = printDeps({ store, audit });
  const sink = new KeepingSink();
  const printed = await printWaybills(deps, { template, format: 'pdf', channel: 'cli', host: 'test', operator: 'test', orders: [{ ...samples[0]!, orderId: 'ONE-1' }], sink });

  for (const spy of inLine) expect(spy).not.toHaveBeenCalled();
  const { id, waybillNo } = printed.waybills[0]!;
  const symbols = await decodeBarcodes(encodePng([await rasteriseLabel(sink.labels.get(id)!)], template.dpi));
  expect(symbols.find((s) => s.format === 'CODE_128')?.text).toBe(waybillNo);
  const token = symbols.find((s) => s.format === 'QR_CODE')!.text.slice('https://scan.example.com/w/'.length);
  expect((await store.findWaybillByTokenHash(hashToken(token, deps.keys.tokenKey)))?.id).toBe(id);
  store.close();
});
