// The one rule every print path asks: a live waybill prints; a cancelled one is refused (409); one purged,
// or whose time is up though the sweep has not shredded it yet (delivered and past retention), is gone (410).

import type { WaybillRecord } from '../../src/waybills/waybillStore';
import { assertPrintable, printRefusal } from '../../src/waybills/printable';

const NOW = new Date('2026-12-01T12:00:00Z');
const SEALED = { keyId: 'k1', wrappedKey: Buffer.alloc(1), ciphertext: Buffer.alloc(1) };
const waybill = (over: Partial<WaybillRecord>): WaybillRecord => ({
  id: 'w1',
  waybillNo: 'ZT1000',
  carrier: 'ZT',
  orderId: 'o1',
  createdAt: '2026-11-30T12:00:00Z',
  tokenHash: 'h',
  status: 'created',
  purgeAfter: '2027-02-28T12:00:00Z',
  sealed: SEALED,
  ...over,
});
const { sealed: _, ...purged } = waybill({ purgedAt: '2026-12-01T00:00:00Z' });

describe('may this waybill be printed?', () => {
  it.each([
    ['created', waybill({}), undefined],
    ['printed', waybill({ status: 'printed' }), undefined],
    ['picked up', waybill({ status: 'picked_up' }), undefined],
    ['delivered, within retention', waybill({ status: 'delivered', purgeAfter: '2026-12-08T12:00:00Z' }), undefined],
    ['returned', waybill({ status: 'returned' }), undefined],
    ['cancelled, within retention', waybill({ status: 'cancelled', purgeAfter: '2026-12-08T12:00:00Z' }), 'cancelled'],
    ['delivered and past retention, not swept yet', waybill({ status: 'delivered', purgeAfter: '2026-12-01T11:59:59Z' }), 'gone'],
    ['cancelled and purged', { ...purged, status: 'cancelled' as const }, 'gone'],
    ['purged', purged, 'gone'],
  ])('%s', (_what, w, refusal) => {
    expect(printRefusal(w, NOW)).toBe(refusal);
  });

  it('throws the refusal as a WaybillError whose code the HTTP layer maps (409 cancelled, 410 gone)', () => {
    expect(() => assertPrintable(waybill({ status: 'cancelled' }), NOW)).toThrow(expect.objectContaining({ code: 'cancelled' }));
    expect(() => assertPrintable(purged, NOW)).toThrow(expect.objectContaining({ code: 'gone' }));
    expect(() => assertPrintable(waybill({}), NOW)).not.toThrow();
  });
});
