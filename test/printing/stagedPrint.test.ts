// A long print writes its records to staging as it goes instead of holding them all until its save. The
// rules do not change: nothing of the print is visible before its save, the save makes all of it visible
// at once (waybills, pieces, copies, webhook events, the batch), and a print that fails or is taken for
// dead leaves nothing behind, staged rows included. On SQLite and PostgreSQL.

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import type { Order } from '../../src/order/orderSchema';
import { parseOrders } from '../../src/order/readOrders';
import { PrintLeases } from '../../src/printing/printLeases';
import { printWaybills, type PrintDeps } from '../../src/printing/printWaybills';
import type { PrintedWaybill, WaybillSink } from '../../src/printing/waybillSink';
import type { Stores } from '../../src/store/openStores';
import type { Keys } from '../../src/vault/keyFile';
import { openSealedContent } from '../../src/vault/sealedWaybill';
import { seal } from '../../src/vault/sealing';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';

jest.setTimeout(60_000);

const ROOT = path.join(__dirname, '..', '..');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-4copy');
const SAMPLES = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');
/** Seven orders with order ids of their own (the samples repeat some); the second of three pieces. */
const ORDERS: Order[] = Array.from({ length: 7 }, (_, i) => {
  const o = SAMPLES[i % SAMPLES.length]!;
  return { ...o, orderId: `STAGE-${i}`, ...(i === 1 ? { parcel: { ...o.parcel, pieces: 3 } } : {}) };
});
const T0 = new Date('2026-11-23T08:00:00.000Z');
const STAGED_TABLES = ['staged_waybills', 'staged_waybill_pieces', 'staged_copy_prints'];

function world(stores: Stores) {
  const clock = { now: T0 };
  const keys: Keys = { ring: { activeKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) }, tokenKey: randomBytes(32) };
  const leases = new PrintLeases(stores.leases, { holdSeconds: 60, quarantineDays: 90, now: () => clock.now });
  const deps: PrintDeps = { store: stores.store, audit: stores.audit, keys, scanBaseUrl: 'https://scan.example.com', metrics: fontMetrics, maxLifetimeDays: 90, leases, stageEvery: 2, now: () => clock.now };
  const print = (sink: WaybillSink, opts: { batch?: boolean } = {}) =>
    printWaybills(deps, { orders: ORDERS, template, format: 'json', sink, channel: 'http', host: 'test', operator: 'test', clientId: 'acme', ...opts });
  return { clock, keys, deps, leases, print };
}

describe.each(STORE_BACKENDS)('%s staged print records', (_name, backend) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await backend.open();
  });
  afterEach(() => db.close());

  const count = async (table: string) => Number((await db.query(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
  const stagedCounts = () => Promise.all(STAGED_TABLES.map(count));

  it('shows nothing while the print runs, then all of it at once, as if nothing had been staged', async () => {
    const w = world(db.stores);
    const endpoint = randomUUID();
    await db.stores.webhooks.addEndpoint({ id: endpoint, client: 'acme', url: 'http://127.0.0.1:9/hook', events: null, createdAt: T0.toISOString(), secret: seal(Buffer.from('whsec_test'), w.keys.ring, `webhook:${endpoint}`) });
    const seen: { waybills: number; staged: number }[] = [];
    const printed: PrintedWaybill[] = [];
    const takenWhileStaged: string[][] = [];
    const sink: WaybillSink = {
      add: async (p) => {
        printed.push(p);
        seen.push({ waybills: await count('waybills'), staged: await count('staged_waybills') });
        // A staged copy code is taken for every print, this one and any other, before its save.
        if (p.orderIndex === 2) takenWhileStaged.push(await db.stores.store.copyCodesTaken([...Object.values(printed[0]!.copyCodes), 'ZZZZ-ZZZZ']));
      },
      finish: async () => {},
    };
    const summary = await w.print(sink, { batch: true });

    // Staged two at a time after the 2nd, 4th and 6th waybill; none of it visible until the save.
    expect(seen).toEqual([0, 0, 2, 2, 4, 4, 6].map((staged) => ({ waybills: 0, staged })));
    expect(takenWhileStaged.map((codes) => codes.sort())).toEqual([Object.values(printed[0]!.copyCodes).sort()]);
    expect(await stagedCounts()).toEqual([0, 0, 0]);
    expect(await count('print_leases')).toBe(0);

    expect(summary.waybills.map((s) => s.orderId)).toEqual(ORDERS.map((o) => o.orderId));
    for (const [i, s] of summary.waybills.entries()) {
      const saved = (await db.stores.store.findWaybillByNo(s.waybillNo))!;
      expect(saved).toMatchObject({ id: s.id, orderId: ORDERS[i]!.orderId, clientId: 'acme', status: 'printed' });
      expect(openSealedContent(w.keys, saved.id, saved.sealed!).order).toEqual(ORDERS[i]);
      const pieces = printed[i]!.pieces ?? [{ pieceNo: 1, copyCodes: printed[i]!.copyCodes }];
      expect(await db.stores.store.childNosOf(saved.id)).toEqual(printed[i]!.pieces?.slice(1).map((p) => p.waybillNo) ?? []);
      for (const piece of pieces)
        for (const [copy, code] of Object.entries(piece.copyCodes))
          expect(await db.stores.store.findCopyPrint(code)).toMatchObject({ waybillId: s.id, copy, printNo: 1, job: { id: summary.jobId } });
    }
    expect(printed[1]!.pieces).toHaveLength(3);
    const codes = printed.flatMap((p) => (p.pieces ?? [p]).flatMap((piece) => Object.values(piece.copyCodes)));
    expect(await count('copy_prints')).toBe(codes.length);

    // Created then printed, waybill after waybill in order index order, for the client's endpoint.
    const events = await db.query('SELECT type, payload FROM webhook_outbox WHERE endpoint_id = ?', endpoint);
    const told = events.map((e) => `${String(e.type)} ${(JSON.parse(String(e.payload)) as { data: { orderId: string } }).data.orderId}`).sort();
    expect(told).toEqual(ORDERS.flatMap((o) => [`waybill.created ${o.orderId}`, `waybill.printed ${o.orderId}`]).sort());

    // The batch resource: every order's waybill, and the client of waybills that were staged.
    const batch = (await db.stores.store.findBatch(summary.jobId))!;
    expect(batch).toMatchObject({ clientId: 'acme', count: ORDERS.length });
    expect(batch.items.map((b) => b.waybillId)).toEqual(summary.waybills.map((s) => s.id));
  });

  it('leaves nothing of a print that fails after staging: no waybill, no copy, no staged row', async () => {
    const w = world(db.stores);
    const sink: WaybillSink = {
      add: async (p) => {
        if (p.orderIndex === 5) throw new Error('printer jammed');
      },
      finish: async () => {},
    };
    await expect(w.print(sink)).rejects.toThrow('printer jammed');
    expect(await count('waybills')).toBe(0);
    expect(await count('copy_prints')).toBe(0);
    expect(await stagedCounts()).toEqual([0, 0, 0]);
  });

  it('deletes with its lease the staged records of a run taken for dead, whose late save then saves nothing', async () => {
    const w = world(db.stores);
    const sweeps: { staged: number }[] = [];
    const sink: WaybillSink = {
      add: async (p) => {
        if (p.orderIndex !== 3) return;
        // Waybills 0 and 1 are staged; the run stops renewing past the hold and another process sweeps.
        w.clock.now = new Date(T0.getTime() + 120_000);
        sweeps.push(await new PrintLeases(db.stores.leases, { holdSeconds: 60, quarantineDays: 90, now: () => w.clock.now, host: 'another-machine', pid: 1 }).sweep());
      },
      finish: async () => {},
    };
    await expect(w.print(sink)).rejects.toMatchObject({ code: 'unavailable' });
    expect(sweeps).toEqual([expect.objectContaining({ leases: 1, staged: 2 })]);
    expect(await count('waybills')).toBe(0);
    expect(await count('copy_prints')).toBe(0);
    // What the run staged after the sweep went with its failed save.
    expect(await stagedCounts()).toEqual([0, 0, 0]);
  });
});
