import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MIGRATIONS } from '../../src/store/migrations';
import { openStores } from '../../src/store/openStores';
import { PAGE_CACHE_KB, SqliteStore } from '../../src/store/sqliteStore';
import { purgeDue } from '../../src/waybills/lifecycle';
import type { PrintJobRecord, WaybillRecord } from '../../src/waybills/waybillStore';
import { UniqueViolation } from '../../src/errors';
import { STORE_BACKENDS } from '../support/storeBackends';

const job = (id: string): PrintJobRecord => ({ id, createdAt: '2026-11-23T10:00:00.000Z', channel: 'cli', templateId: 'cn-4copy', format: 'pdf', host: 'pack-01', operator: 'ops' });
const waybill = (id: string, waybillNo: string, over: Partial<WaybillRecord> = {}): WaybillRecord => ({
  id,
  waybillNo,
  carrier: 'ZT',
  orderId: `SO-${id}`,
  createdAt: '2026-11-23T10:00:00.000Z',
  tokenHash: `hash-${id}`,
  status: 'created',
  purgeAfter: '2027-02-21T10:00:00.000Z',
  sealed: { keyId: 'k1', wrappedKey: Buffer.from([1, 2]), ciphertext: Buffer.from([3, 4]) },
  ...over,
});

describe('migrations', () => {
  it('are one list, numbered 1, 2, 3 … without gaps, each written for both databases', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    for (const m of MIGRATIONS) for (const dialect of ['sqlite', 'postgres'] as const) expect(m.sql(dialect)).toMatch(/\S/);
  });
});

describe('SQLite file', () => {
  it('keeps each connection\'s page cache small: a long print and its save would fill 16 MB of it', async () => {
    const store = SqliteStore.open(':memory:');
    expect(store.database.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KB);
    expect(PAGE_CACHE_KB).toBeLessThanOrEqual(4000);
    await store.close();
  });
});

describe('SQLite file mode', () => {
  it('creates the database file for its owner alone, even in a folder others may read', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-mode-'));
    fs.chmodSync(dir, 0o755);
    const store = SqliteStore.open(path.join(dir, 'waybill.db'));
    await store.savePrintJob(job('j1'), [waybill('w1', 'ZT1000000000009')], []);
    for (const f of ['waybill.db', 'waybill.db-wal']) expect((fs.statSync(path.join(dir, f)).mode & 0o777).toString(8)).toBe('600');
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('SQLite file after a shred', () => {
  it('keeps nothing of the sealed data: neither in the file\'s free space nor in the WAL', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-shred-'));
    const file = path.join(dir, 'waybill.db');
    const store = SqliteStore.open(file);
    const ciphertext = randomBytes(900); // a sealed order's size; random, so any 32 bytes of it are its own
    await store.savePrintJob(job('j1'), [waybill('w1', 'ZT1000000000009', { sealed: { keyId: 'k1', wrappedKey: randomBytes(60), ciphertext } })], []);
    const onDisk = () => Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
    store.database.pragma('wal_checkpoint(PASSIVE)'); // as the service's checkpoints do: the row is in the file too
    expect(onDisk().includes(ciphertext.subarray(100, 132))).toBe(true);
    expect(await store.shred('w1', '2026-12-02T00:00:00.000Z')).toBe(true);
    await store.dropOldPages();
    expect(onDisk().includes(ciphertext.subarray(100, 132))).toBe(false);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe.each(STORE_BACKENDS)('%s store', (_name, backend) => {
  it('applies versioned migrations once, also when opened again and by several instances starting at once', async () => {
    const t = await backend.open();
    await t.reopen();
    await Promise.all([openStores(t.location), openStores(t.location), openStores(t.location)]).then((all) => Promise.all(all.map((s) => s.close())));
    expect(await t.query('SELECT version FROM schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    await t.close();
  });

  it('saves a print job with its waybills and copies, and finds them again', async () => {
    const t = await backend.open();
    const { store } = t.stores;
    await store.savePrintJob(job('j1'), [waybill('w1', 'ZT1000000000009', { clientId: 'acme', routingCode: '571', relayUnavailable: true })], [
      { copyCode: 'ABCD-EFGH', jobId: 'j1', waybillId: 'w1', copy: 'courier', printNo: 1 },
    ]);
    expect(await store.waybillNoExists('ZT1000000000009')).toBe(true);
    expect(await store.waybillNoExists('ZT1000000000010')).toBe(false);
    // Saved with a copy on paper: printed (src/waybills/transitions.ts).
    expect(await store.findWaybillByTokenHash('hash-w1')).toEqual(waybill('w1', 'ZT1000000000009', { clientId: 'acme', routingCode: '571', relayUnavailable: true, status: 'printed' }));
    expect((await store.findWaybillByNo('ZT1000000000009'))?.sealed?.ciphertext).toEqual(Buffer.from([3, 4]));
    expect((await store.findWaybillById('w1'))?.waybillNo).toBe('ZT1000000000009');
    expect((await store.findWaybillByClientOrder('acme', 'SO-w1'))?.id).toBe('w1');
    expect(await store.findWaybillByClientOrder('other', 'SO-w1')).toBeUndefined();
    expect(await store.findCopyPrint('ABCD-EFGH')).toMatchObject({ waybillId: 'w1', copy: 'courier', printNo: 1, job: { host: 'pack-01', templateId: 'cn-4copy' } });
    expect(await store.copyCodesTaken(['WXYZ-0000', 'ABCD-EFGH', 'ABCD-EFGJ'])).toEqual(['ABCD-EFGH']);
    expect(await store.copyCodesTaken([])).toEqual([]);
    expect(await store.nextPrintNo('w1')).toBe(2);
    expect(await store.nextPrintNo('w2')).toBe(1);
    await t.close();
  });

  it('is all or nothing: a duplicate waybill number saves no part of the job, nor its alerts', async () => {
    const t = await backend.open();
    const { store } = t.stores;
    const alert = (detail: string) => ({ at: '2026-11-23T10:00:00.000Z', kind: 'relay_unavailable' as const, detail });
    await store.savePrintJob(job('j1'), [waybill('w1', 'ZT1000000000009')], [], { alerts: [alert('print job j1: saved')] });
    await expect(store.savePrintJob(job('j2'), [waybill('w2', 'ZT2000000000008'), waybill('w3', 'ZT1000000000009')], [], { alerts: [alert('print job j2: not saved')] })).rejects.toEqual(
      new UniqueViolation('waybill number'),
    );
    expect(await store.waybillNoExists('ZT2000000000008')).toBe(false);
    expect((await store.listAlerts({ kind: 'relay_unavailable', limit: 10 })).map((a) => a.detail)).toEqual(['print job j1: saved']);
    await store.savePrintJob(job('j3'), [waybill('w4', 'ZT3000000000007', { clientId: 'acme', orderId: 'SO-1' })], []);
    await expect(store.savePrintJob(job('j4'), [waybill('w5', 'ZT4000000000006', { clientId: 'acme', orderId: 'SO-1' })], [])).rejects.toEqual(new UniqueViolation('order id'));
    await expect(store.savePrintJob(job('j5'), [], [{ copyCode: 'ABCD-EFGH', jobId: 'j5', waybillId: 'w1', copy: 'courier', printNo: 1 }, { copyCode: 'ABCD-EFGH', jobId: 'j5', waybillId: 'w1', copy: 'office', printNo: 1 }])).rejects.toEqual(new UniqueViolation('generated identifier'));
    expect(await store.findCopyPrint('ABCD-EFGH')).toBeUndefined();
    await t.close();
  });

  it('lets exactly one of several instances save the same waybill number at the same time', async () => {
    const t = await backend.open();
    const instances = [t.stores, await t.reopen(), await t.reopen()];
    const results = await Promise.allSettled(instances.map((s, i) => s.store.savePrintJob(job(`j${i}`), [waybill(`w${i}`, 'ZT5000000000005')], [])));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toEqual(new UniqueViolation('waybill number'));
    await t.close();
  });

  it('records events, moves the purge only earlier, and shreds what is due', async () => {
    const t = await backend.open();
    const { store } = t.stores;
    await store.savePrintJob(job('j1'), [waybill('w1', 'ZT1000000000009'), waybill('w2', 'ZT2000000000008', { purgeAfter: '2027-03-01T00:00:00.000Z' })], []);
    const from = { status: 'created' } as const;
    await store.recordEvent('w1', { type: 'delivered', from, status: 'delivered', at: '2026-11-24T10:00:00.000Z', actor: 'courier:c1' }, '2026-12-01T10:00:00.000Z');
    await store.recordEvent('w1', { type: 'after_sales', from: { status: 'delivered' }, status: 'delivered', at: '2026-11-25T10:00:00.000Z', actor: 'admin' }, '2027-05-01T00:00:00.000Z');
    await store.recordEvent('w1', { type: 'correction', from: { status: 'delivered' }, status: 'delivered', at: '2026-11-25T11:00:00.000Z', actor: 'admin', detail: { from: 'delivered', reason: '测试某某 called' } });
    await store.recordEvent('w2', { type: 'picked_up', from, status: 'picked_up', at: '2026-11-24T10:00:00.000Z', actor: 'courier:c1' });
    expect(await store.findWaybillById('w1')).toMatchObject({ status: 'delivered', purgeAfter: '2026-12-01T10:00:00.000Z' });
    expect(await store.findWaybillById('w2')).toMatchObject({ status: 'picked_up', purgeAfter: '2027-03-01T00:00:00.000Z' });
    expect((await store.dueForPurge('2026-12-02T00:00:00.000Z', 10)).map((w) => w.id)).toEqual(['w1']);
    // The purge's audit record commits with the shred: one record, however many sweeps try.
    const purge = (at: string) => t.stores.audit.chain([{ at, actor: 'system', action: 'purge', waybillNo: 'ZT1000000000009', outcome: 'shredded' }]);
    expect(await store.shred('w1', '2026-12-02T00:00:00.000Z', purge('2026-12-02T00:00:00.000Z'))).toBe(true);
    expect(await store.shred('w1', '2026-12-03T00:00:00.000Z', purge('2026-12-03T00:00:00.000Z'))).toBe(false); // already shredded: the first time stands
    expect((await t.stores.audit.forWaybill('ZT1000000000009')).map((r) => r.at)).toEqual(['2026-12-02T00:00:00.000Z']);
    // An admin's free-text reason goes with the data; what the correction did stays.
    expect((await store.eventsOf('w1')).find((e) => e.type === 'correction')?.detail).toEqual({ from: 'delivered' });
    const shredded = await store.findWaybillById('w1');
    expect(shredded?.sealed).toBeUndefined();
    expect(shredded?.purgedAt).toBe('2026-12-02T00:00:00.000Z');
    expect(await store.dueForPurge('2027-12-31T00:00:00.000Z', 10)).toHaveLength(1);
    expect(await store.countSealedByKey()).toEqual({ k1: 1 });
    await store.replaceSealed('w2', { keyId: 'k2', wrappedKey: Buffer.from([9]), ciphertext: Buffer.from([8]) });
    expect(await store.sealedNotUnder('k2', 10)).toEqual([]);
    expect((await store.sealedNotUnder('k1', 10)).map((w) => w.id)).toEqual(['w2']);
    expect(await store.countSealedByKey()).toEqual({ k2: 1 });
    await t.close();
  });

  it('lets sweeps on several instances at once shred, and audit the purge of, each due waybill exactly once', async () => {
    const t = await backend.open();
    const due = Array.from({ length: 30 }, (_, i) => waybill(`w${i}`, `ZT${String(6000000000000 + i)}`, { purgeAfter: '2026-12-01T00:00:00.000Z' }));
    await t.stores.store.savePrintJob(job('j1'), due, []);
    const instances = [t.stores, await t.reopen(), await t.reopen()];
    const now = () => new Date('2026-12-02T00:00:00.000Z');
    const counts = await Promise.all(instances.map((s) => purgeDue({ store: s.store, audit: s.audit, retentionGraceDays: 7, now }, 4)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
    const audited = await Promise.all(due.map((w) => t.stores.audit.forWaybill(w.waybillNo)));
    expect(audited.map((records) => records.filter((r) => r.action === 'purge').length)).toEqual(Array(30).fill(1));
    expect(await t.stores.audit.verify()).toMatchObject({ ok: true, count: 30 });
    await t.close();
  });

  it('counts scan attempts per courier in rolling windows, shared by every instance', async () => {
    const t = await backend.open();
    const other = await t.reopen();
    const now = new Date('2026-11-23T10:00:00.000Z');
    const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
    await t.stores.store.recordScanAttempt({ courierId: 'c1', waybillId: 'w1', at: ago(10_000), outcome: 'ok' });
    await other.store.recordScanAttempt({ courierId: 'c1', waybillId: 'w2', at: ago(120_000), outcome: 'out_of_route' });
    await other.store.recordScanAttempt({ courierId: 'c1', at: ago(1_800_000), outcome: 'unknown' });
    await t.stores.store.recordScanAttempt({ courierId: 'c1', waybillId: 'w3', at: ago(90_000_000), outcome: 'ok' }); // over a day ago
    await t.stores.store.recordScanAttempt({ courierId: 'c2', waybillId: 'w1', at: ago(5_000), outcome: 'ok' });
    expect(await t.stores.store.scanCounts('c1', 'w1', now)).toEqual({
      lastMinute: 1,
      distinctWaybillsDay: 2,
      distinctOpenedDay: 1,
      unknownLastHour: 1,
      outOfRouteDay: 1,
      openedThisWaybill: true,
    });
    expect((await other.store.scanCounts('c1', 'w2', now)).openedThisWaybill).toBe(false);
    // The check before every scan: the same minute count (up to the cap) and "opened today", in one statement.
    expect(await other.store.scanGate('c1', 'w1', now, 30)).toEqual({ lastMinute: 1, openedThisWaybill: true });
    expect(await other.store.scanGate('c1', 'w3', now, 30)).toEqual({ lastMinute: 1, openedThisWaybill: false }); // opened over a day ago
    expect(await other.store.scanGate('c1', undefined, now, 30)).toEqual({ lastMinute: 1, openedThisWaybill: false });
    for (let i = 0; i < 4; i++) await t.stores.store.recordScanAttempt({ courierId: 'c1', at: ago(1_000 + i), outcome: 'unknown' });
    expect((await t.stores.store.scanGate('c1', 'w2', now, 3)).lastMinute).toBe(3); // counted only as far as the limit needs
    expect((await t.stores.store.scanGate('c1', 'w2', now, 30)).lastMinute).toBe(5);
    await other.store.recordAlert({ at: now.toISOString(), kind: 'courier_suspended', courierId: 'c1', detail: 'too many distinct waybills' });
    expect(await t.query('SELECT kind, courier_id, detail FROM alerts')).toEqual([{ kind: 'courier_suspended', courier_id: 'c1', detail: 'too many distinct waybills' }]);
    await t.stores.store.ping();
    await t.close();
  });
});
