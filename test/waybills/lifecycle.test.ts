// The lifecycle use case on both databases: every state × every event as the table says, racing events
// of which only one applies, the first paper moving created → printed, and audited admin corrections.

import { WaybillEvent, recordWaybillEvent, type LifecycleDeps } from '../../src/waybills/lifecycle';
import { InvalidTransition, POSTED_EVENTS, TRANSITIONS, allowedEvents, type PostedEventType } from '../../src/waybills/transitions';
import { WAYBILL_STATUSES, type WaybillRecord, type WaybillStatus } from '../../src/waybills/waybillStore';
import type { Stores } from '../../src/store/openStores';
import { expectAbsent } from '../support/expectAbsent';
import { STORE_BACKENDS } from '../support/storeBackends';

jest.setTimeout(120_000);

const NOW = new Date('2026-11-24T10:00:00.000Z');
let seq = 0;

/** Saves a new waybill; with `paper`, one copy of it on paper in the same job. */
async function newWaybill(stores: Stores, paper: boolean): Promise<WaybillRecord> {
  const n = ++seq;
  const id = `w-${n}`;
  const jobId = `j-${n}`;
  const w: WaybillRecord = {
    id,
    waybillNo: `ZT${String(1_000_000_000_000 + n)}`,
    carrier: 'ZT',
    orderId: `SO-${n}`,
    createdAt: '2026-11-23T10:00:00.000Z',
    tokenHash: `hash-${n}`,
    status: 'created',
    purgeAfter: '2027-02-21T10:00:00.000Z',
    sealed: { keyId: 'k1', wrappedKey: Buffer.from([1]), ciphertext: Buffer.from([2]) },
  };
  const job = { id: jobId, createdAt: w.createdAt, channel: 'cli' as const, templateId: 'cn-4copy', format: 'pdf', host: 'pack-01', operator: 'ops' };
  await stores.store.savePrintJob(job, [w], paper ? [{ copyCode: `C${n}`, jobId, waybillId: id, copy: 'courier', printNo: 1 }] : []);
  return w;
}

const deps = (stores: Stores): LifecycleDeps => ({
  store: stores.store,
  audit: stores.audit,
  retentionGraceDays: 7,
  couriers: { store: stores.couriers, limits: { eventsPerMinute: 1000, closeBurst: 1000 } },
  now: () => NOW,
});

const post = (stores: Stores, waybillNo: string, body: unknown, actor = 'cli:ops@pack-01') =>
  recordWaybillEvent(deps(stores), { waybillNo, event: WaybillEvent.parse(body), actor });

/** A waybill in the given state: a correction puts it there (from printed, as paper does). */
async function inState(stores: Stores, status: WaybillStatus): Promise<WaybillRecord> {
  const w = await newWaybill(stores, status !== 'created');
  if (status !== 'created' && status !== 'printed') await post(stores, w.waybillNo, { type: 'correction', status, reason: 'test set-up' });
  return w;
}

describe.each(STORE_BACKENDS)('%s waybill lifecycle', (_name, backend) => {
  it('first paper moves created → printed; a preview stays created until its first paper', async () => {
    const t = await backend.open();
    const { store } = t.stores;
    const preview = await newWaybill(t.stores, false);
    const printed = await newWaybill(t.stores, true);
    expect((await store.findWaybillById(preview.id))!.status).toBe('created');
    expect((await store.findWaybillById(printed.id))!.status).toBe('printed');
    const job = { id: 'j-later', createdAt: NOW.toISOString(), channel: 'http' as const, templateId: 'cn-4copy', format: 'pdf', host: 'h', operator: 'acme' };
    await store.savePrintJob(job, [], [{ copyCode: 'LATER-1', jobId: 'j-later', waybillId: preview.id, copy: 'courier', printNo: 1 }]);
    expect((await store.findWaybillById(preview.id))!.status).toBe('printed');
    await t.close();
  });

  it('takes every posted event in every state exactly as the transition table says', async () => {
    const t = await backend.open();
    const to = (await t.stores.couriers.add({ carrier: 'ZT', name: '李师傅', outlet: 'HZ-2', routes: [], device: 'HH-2' }, NOW)).courier.id;
    const bodies: Record<Exclude<PostedEventType, never>, unknown> = Object.fromEntries(POSTED_EVENTS.map((e) => [e, { type: e }])) as never;
    bodies.handed_over = { type: 'handed_over', to };
    bodies.assigned = { type: 'assigned', outlet: 'HZ-2' };
    for (const status of WAYBILL_STATUSES)
      for (const event of POSTED_EVENTS) {
        const w = await inState(t.stores, status);
        const expected = TRANSITIONS[status][event];
        const outcome = post(t.stores, w.waybillNo, bodies[event]);
        if (expected) await expect(outcome).resolves.toMatchObject({ status: expected });
        else {
          await expect(outcome).rejects.toBeInstanceOf(InvalidTransition);
          await expect(outcome).rejects.toMatchObject({ code: 'invalid_transition', facts: { currentStatus: status, allowedEvents: allowedEvents(status) } });
          expect((await t.stores.store.findWaybillById(w.id))!.status).toBe(status);
        }
      }
    await t.close();
  });

  it('stores an event only while the waybill is still in the state it was decided on', async () => {
    const t = await backend.open();
    const w = await newWaybill(t.stores, true);
    const event = (from: WaybillStatus, custodian?: string) => ({ type: 'delivered', at: NOW.toISOString(), actor: 'test', from: { status: from, ...(custodian ? { custodian } : {}) }, status: 'delivered' as const });
    expect(await t.stores.store.recordEvent(w.id, event('picked_up'))).toBe(false);
    await post(t.stores, w.waybillNo, { type: 'correction', status: 'picked_up', reason: 'test set-up' });
    expect(await t.stores.store.recordEvent(w.id, event('picked_up', 'someone'))).toBe(false); // custody moved meanwhile
    expect(await t.query("SELECT count(*) AS n FROM waybill_events WHERE waybill_id = ? AND type = 'delivered'", w.id)).toEqual([{ n: 0 }]);
    expect(await t.stores.store.recordEvent(w.id, event('picked_up'))).toBe(true);
    expect((await t.stores.store.findWaybillById(w.id))!.status).toBe('delivered');
    await t.close();
  });

  it('keeps the relay change an event owes with the event until it is marked done, oldest first, and says when its waybill was shredded since', async () => {
    const t = await backend.open();
    const { store } = t.stores;
    const [a, b] = [await newWaybill(t.stores, true), await newWaybill(t.stores, true)];
    const change = (type: 'delivered' | 'cancelled', at: string, from: WaybillStatus) => ({ type, at, actor: 'test', from: { status: from }, status: type, relayDue: type });
    expect(await store.recordEvent(a.id, change('cancelled', '2026-11-24T10:00:00.000Z', 'printed'))).toBe(true);
    expect(await store.recordEvent(b.id, { type: 'picked_up', at: '2026-11-24T10:00:01.000Z', actor: 'test', from: { status: 'printed' }, status: 'picked_up' })).toBe(true); // owes nothing
    expect(await store.recordEvent(b.id, change('delivered', '2026-11-24T10:00:02.000Z', 'picked_up'))).toBe(true);
    const due = (before: string) => store.relayDue({ before, limit: 10 });
    expect((await due('2026-11-24T10:00:01.000Z')).map((d) => [d.waybillId, d.effect])).toEqual([[a.id, 'cancelled']]);
    const [first, second] = await due('2026-11-24T11:00:00.000Z');
    expect(first).toEqual({ eventId: expect.any(Number), waybillId: a.id, effect: 'cancelled', at: '2026-11-24T10:00:00.000Z', createdAt: a.createdAt, purged: false });
    expect(second).toMatchObject({ waybillId: b.id, effect: 'delivered', purged: false });
    expect(await store.relayDue({ waybillId: b.id })).toEqual([second]);
    await store.relaySettled(first!.eventId);
    expect(await store.relayDue({ waybillId: a.id })).toEqual([]);
    expect(await store.shred(b.id, '2026-11-24T12:00:00.000Z')).toBe(true);
    expect(await due('2026-11-24T11:00:00.000Z')).toEqual([{ ...second, purged: true }]);
    await t.close();
  });

  it('writes an alert and the audit record given with an event in the same transaction: none when the event is not stored', async () => {
    const t = await backend.open();
    const w = await newWaybill(t.stores, true);
    const alert = { at: NOW.toISOString(), kind: 'waybill_reopened' as const, detail: `waybill ${w.waybillNo} corrected from cancelled to printed by test` };
    const reopen = { type: 'correction', at: NOW.toISOString(), actor: 'test', from: { status: 'cancelled' as const }, status: 'printed' as const };
    const trail = () => t.stores.audit.chain([{ at: NOW.toISOString(), actor: 'test', action: 'correct', waybillNo: w.waybillNo, outcome: 'printed', detail: { from: 'cancelled' } }]);
    const corrections = async () => (await t.stores.audit.forWaybill(w.waybillNo)).filter((r) => r.action === 'correct');
    expect(await t.stores.store.recordEvent(w.id, reopen, undefined, alert, trail())).toBe(false); // it was never cancelled
    expect(await t.stores.store.listAlerts({ kind: 'waybill_reopened', limit: 10 })).toEqual([]);
    expect(await corrections()).toEqual([]);
    await post(t.stores, w.waybillNo, { type: 'cancelled' });
    expect(await t.stores.store.recordEvent(w.id, reopen, undefined, alert, trail())).toBe(true);
    expect(await t.stores.store.listAlerts({ kind: 'waybill_reopened', limit: 10 })).toEqual([expect.objectContaining({ detail: alert.detail })]);
    expect(await corrections()).toEqual([expect.objectContaining({ outcome: 'printed' })]);
    expect((await t.stores.audit.verify()).ok).toBe(true);
    await t.close();
  });

  it('applies only one of two racing events, also from two instances at once', async () => {
    const t = await backend.open();
    const other = await t.reopen();
    for (let round = 0; round < 5; round++) {
      const w = await newWaybill(t.stores, true);
      const results = await Promise.allSettled([post(t.stores, w.waybillNo, { type: 'picked_up' }), post(other, w.waybillNo, { type: 'cancelled' })]);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(InvalidTransition);
      const final = (await t.stores.store.findWaybillById(w.id))!.status;
      expect(['picked_up', 'cancelled']).toContain(final);
      expect(await t.query('SELECT type FROM waybill_events WHERE waybill_id = ?', w.id)).toEqual([{ type: final }]);
    }
    // The same closing event twice at once: recorded once.
    const w = await inState(t.stores, 'picked_up');
    const twice = await Promise.allSettled([post(t.stores, w.waybillNo, { type: 'delivered' }), post(other, w.waybillNo, { type: 'delivered' })]);
    expect(twice.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await t.query("SELECT count(*) AS n FROM waybill_events WHERE waybill_id = ? AND type = 'delivered'", w.id)).toEqual([{ n: 1 }]);
    await t.close();
  });

  it('lets an admin correct a state with a reason: audited without the reason, which stays with the event', async () => {
    const t = await backend.open();
    const w = await inState(t.stores, 'delivered');
    const reason = '误点签收 mis-tapped delivered';
    await expect(post(t.stores, w.waybillNo, { type: 'correction', status: 'picked_up', reason }, 'admin:k1')).resolves.toMatchObject({ status: 'picked_up' });
    const audit = (await t.stores.audit.forWaybill(w.waybillNo)).filter((r) => r.action === 'correct');
    expect(audit.map((r) => ({ actor: r.actor, outcome: r.outcome, detail: r.detail }))).toEqual([
      { actor: 'cli:ops@pack-01', outcome: 'delivered', detail: { from: 'printed' } },
      { actor: 'admin:k1', outcome: 'picked_up', detail: { from: 'delivered' } },
    ]);
    expectAbsent(JSON.stringify(audit), [reason], 'audit records');
    const [row] = await t.query("SELECT detail FROM waybill_events WHERE waybill_id = ? AND type = 'correction' AND actor = 'admin:k1'", w.id);
    expect(JSON.parse(String(row!.detail))).toEqual({ from: 'delivered', reason });
    expect(await t.stores.audit.verify()).toMatchObject({ ok: true });
    await t.close();
  });
});

describe('correction reasons', () => {
  it('are short printable text', () => {
    const correction = (reason: string) => WaybillEvent.safeParse({ type: 'correction', status: 'printed', reason }).success;
    expect(correction('scanned the wrong parcel')).toBe(true);
    expect(correction('')).toBe(false);
    expect(correction('x'.repeat(121))).toBe(false);
    expect(correction('forged\u2028line')).toBe(false);
    expect(WaybillEvent.safeParse({ type: 'correction', status: 'lost', reason: 'x' }).success).toBe(false);
  });
});
