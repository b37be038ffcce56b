// Attempts are the working set of rate limits, not the record (the audit log is): the sweep forgets them
// once no window reads them. An opened pickup scan leaves its right to post `picked_up` behind, for as
// long as its waybill lives.

import { forgetOldAttempts } from '../../src/waybills/attemptRetention';
import type { ScanAttempt, WaybillRecord } from '../../src/waybills/waybillStore';
import { STORE_BACKENDS } from '../support/storeBackends';

const now = new Date('2026-12-06T12:00:00.000Z');
const ago = (hours: number) => new Date(now.getTime() - hours * 3_600_000).toISOString();
const waybill = (id: string, waybillNo: string): WaybillRecord => ({
  id,
  waybillNo,
  carrier: 'ZT',
  orderId: `SO-${id}`,
  createdAt: ago(100),
  tokenHash: `hash-${id}`,
  status: 'created',
  purgeAfter: '2027-02-21T10:00:00.000Z',
  sealed: { keyId: 'k1', wrappedKey: Buffer.from([1, 2]), ciphertext: Buffer.from([3, 4]) },
});

describe.each(STORE_BACKENDS)('%s store', (_name, backend) => {
  it('forgets attempts older than two days; an opened pickup scan leaves its right until the waybill is shredded', async () => {
    const t = await backend.open();
    const { store, stations } = t.stores;
    const job = { id: 'j1', createdAt: ago(100), channel: 'http', templateId: 'cn-4copy', format: 'pdf', host: 'pack-01', operator: 'ops' } as const;
    await store.savePrintJob(job, [waybill('w-pickup', 'ZT1000000000009'), waybill('w-shredded', 'ZT1000000000010')], []);
    await store.shred('w-shredded', ago(60));
    const scan = (waybillId: string | undefined, hours: number, outcome: ScanAttempt['outcome'], purpose?: string) =>
      store.recordScanAttempt({ courierId: 'c1', waybillId, purpose, at: ago(hours), outcome });
    await scan('w-delivered', 49, 'ok', 'delivery');
    await scan(undefined, 72, 'unknown', 'delivery');
    await scan(undefined, 72, 'forbidden'); // refused before its purpose was read
    await scan('w-pickup', 72, 'out_of_route', 'pickup'); // a pickup scan that opened nothing: no right
    await scan('w-pickup', 72, 'ok', 'pickup');
    await scan('w-shredded', 72, 'ok', 'pickup'); // its waybill is gone: no right
    await scan('w-yesterday', 47, 'ok', 'delivery'); // kept: within two days
    await scan('w-now', 1, 'ok', 'delivery');
    await store.recordEventAttempt({ courierId: 'c1', waybillId: 'w-delivered', type: 'delivered', at: ago(49), outcome: 'ok' });
    await store.recordEventAttempt({ courierId: 'c1', waybillId: 'w-now', type: 'delivered', at: ago(1), outcome: 'ok' });
    await stations.recordVerification({ stationId: 's1', waybillId: null, at: ago(49), outcome: 'no_match' });
    await stations.recordVerification({ stationId: 's1', waybillId: null, at: ago(1), outcome: 'limited' });

    expect(await forgetOldAttempts({ store, stations }, now)).toBe(8);

    expect(await t.query('SELECT waybill_id FROM scan_attempts ORDER BY waybill_id')).toEqual([{ waybill_id: 'w-now' }, { waybill_id: 'w-yesterday' }]);
    expect(await t.query('SELECT waybill_id FROM event_attempts')).toEqual([{ waybill_id: 'w-now' }]);
    expect(await t.query('SELECT outcome FROM station_verifications')).toEqual([{ outcome: 'limited' }]);
    expect(await t.query('SELECT waybill_id, courier_id FROM pickup_rights')).toEqual([{ waybill_id: 'w-pickup', courier_id: 'c1' }]);
    expect(await store.hasScanned('c1', 'w-pickup', 'pickup')).toBe(true);
    expect(await store.hasScanned('c2', 'w-pickup', 'pickup')).toBe(false);
    expect(await store.hasScanned('c1', 'w-pickup', 'delivery')).toBe(false);
    // What a window counts stays, and a second sweep finds nothing more.
    expect((await store.scanCounts('c1', undefined, now)).distinctWaybillsDay).toBe(1);
    expect(await forgetOldAttempts({ store, stations }, now)).toBe(0);

    await store.shred('w-pickup', now.toISOString());
    expect(await t.query('SELECT waybill_id FROM pickup_rights')).toEqual([]);
    expect(await store.hasScanned('c1', 'w-pickup', 'pickup')).toBe(false);
    await t.close();
  });

  it('walks from the oldest attempt a chunk at a time and stops at the rows still kept', async () => {
    const t = await backend.open();
    const { store } = t.stores;
    for (const hours of [80, 79, 78, 77, 76, 1, 2]) await store.recordScanAttempt({ courierId: 'c1', waybillId: `w${hours}`, purpose: 'delivery', at: ago(hours), outcome: 'ok' });
    const before = ago(48);
    const steps = [];
    for (let i = 0; i < 4; i++) steps.push(await store.forgetAttempts('scans', before, 2));
    expect(steps).toEqual([2, 2, 1, 0]);
    expect(await t.query('SELECT waybill_id FROM scan_attempts ORDER BY id')).toEqual([{ waybill_id: 'w1' }, { waybill_id: 'w2' }]);
    await t.close();
  });
});
