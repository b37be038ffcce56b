import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqliteStore';
import { MIGRATIONS } from '../../src/store/migrations/index';
import { UniqueViolation, type PrintJobRecord, type WaybillRecord } from '../../src/store/store';

const dbFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-store-')), 'waybill.db');

const job = (id: string): PrintJobRecord => ({ id, createdAt: '2026-11-23T10:00:00.000Z', channel: 'cli', templateId: 'cn-4copy', format: 'pdf', host: 'pack-01', operator: 'ops' });
const waybill = (id: string, waybillNo: string): WaybillRecord => ({
  id,
  waybillNo,
  carrier: 'ZT',
  orderId: `SO-${id}`,
  createdAt: '2026-11-23T10:00:00.000Z',
  tokenHash: `hash-${id}`,
  status: 'created',
  purgeAfter: '2027-02-21T10:00:00.000Z',
  sealed: { keyId: 'k1', wrappedKey: Buffer.from([1, 2]), ciphertext: Buffer.from([3, 4]) },
});

describe('SQLite store', () => {
  it('applies versioned migrations once, also when opened again', async () => {
    const file = dbFile();
    await SqliteStore.open(file).close();
    await SqliteStore.open(file).close();
    const versions = new Database(file).prepare('SELECT version FROM schema_migrations').all();
    expect(versions).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
  });

  it('saves a print job with its waybills and copies, and finds them again', async () => {
    const store = SqliteStore.open(dbFile());
    await store.savePrintJob(job('j1'), [waybill('w1', 'ZT1000000000009')], [{ copyCode: 'ABCD-EFGH', jobId: 'j1', waybillId: 'w1', copy: 'courier', printNo: 1 }]);
    expect(await store.waybillNoExists('ZT1000000000009')).toBe(true);
    expect((await store.findWaybillByTokenHash('hash-w1'))?.waybillNo).toBe('ZT1000000000009');
    expect((await store.findWaybillByNo('ZT1000000000009'))?.sealed?.ciphertext).toEqual(Buffer.from([3, 4]));
    expect(await store.findCopyPrint('ABCD-EFGH')).toMatchObject({ waybillId: 'w1', copy: 'courier', printNo: 1, job: { host: 'pack-01', templateId: 'cn-4copy' } });
    await store.close();
  });

  it('is all or nothing: a duplicate waybill number saves no part of the job', async () => {
    const store = SqliteStore.open(dbFile());
    await store.savePrintJob(job('j1'), [waybill('w1', 'ZT1000000000009')], []);
    await expect(store.savePrintJob(job('j2'), [waybill('w2', 'ZT2000000000008'), waybill('w3', 'ZT1000000000009')], [])).rejects.toBeInstanceOf(UniqueViolation);
    expect(await store.waybillNoExists('ZT2000000000008')).toBe(false);
    await store.close();
  });
});
