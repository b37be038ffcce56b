// A waybill's life: events move its status, delivery and cancellation bring its purge forward, and the
// purge sweep crypto-shreds sealed data whose time is up (PIPL Art. 47: delete when the purpose is met).

import { z } from 'zod';
import type { AuditLog } from '../audit/auditLog';
import type { AuditEntry } from '../audit/auditRecord';
import type { Courier } from '../couriers/courier';
import { NewCourier } from '../couriers/courier';
import type { CourierStore } from '../couriers/courierStore';
import { WaybillError } from '../errors';
import { printableText } from '../validation/printableText';
import { WAYBILL_STATUSES, type EventChange, type NewAlert, type RelayDue, type RelayEffect, type WaybillRecord, type WaybillStatus, type WaybillStore } from '../waybills/waybillStore';
import type { RelayProvider } from '../relay/relayProvider';
import { DAY_MS } from '../time';
import { inTurn } from '../turns';
import { suspendCourier } from './scanAccess';
import { tamperedWaybill } from './sealedRecord';
import { transition } from './transitions';

/**
 * What a client posts. `after_sales` (a complaint, an exchange) keeps the status but keeps the relay number
 * reachable longer (never past the purge, which does not move later); `handed_over` passes a parcel to
 * another courier; `assigned` lets an outlet's couriers pick up without a pickup scan; `correction`
 * (admins) sets a state outside the table, with a reason.
 */
export const WaybillEvent = z.discriminatedUnion('type', [
  z.object({ type: z.enum(['picked_up', 'delivered', 'returned', 'cancelled', 'after_sales']) }).strict(),
  z.object({ type: z.literal('handed_over'), to: z.string().regex(/^[a-z2-7]{10}$/, 'must be a courier id').describe('the receiving courier') }).strict(),
  z.object({ type: z.literal('assigned'), outlet: NewCourier.shape.outlet.describe('the outlet whose couriers may pick it up') }).strict(),
  z
    .object({
      type: z.literal('correction'),
      status: z.enum(WAYBILL_STATUSES),
      reason: printableText(120).describe('why; kept with the event, never logged or audited'),
    })
    .strict(),
]);
export type WaybillEvent = z.infer<typeof WaybillEvent>;

/** Per-courier limits on events: a rate, and a burst of closing events that suspends the courier. */
export interface CourierEventLimits {
  eventsPerMinute: number;
  /** More closing events (delivered, returned) than this within a minute suspend the courier. */
  closeBurst: number;
}

export interface LifecycleDeps {
  store: WaybillStore;
  audit: AuditLog;
  retentionGraceDays: number;
  /** Relay bindings follow the waybill's life: delivery + after-sales, capped; cancellation ends them. */
  relay?: { provider: RelayProvider; afterSalesDays: number; maxDays: number };
  /** Needed for events posted by couriers: their custody and limits. */
  couriers?: { store: CourierStore; limits: CourierEventLimits };
  /** Needed for events posted by parcel stations: whether the station had a recent last-four match. */
  stationMatch?: (stationId: string, waybillId: string, now: Date) => Promise<boolean>;
  now: () => Date;
}

export interface EventRequest {
  waybillNo: string;
  event: WaybillEvent;
  /** The audit actor. */
  actor: string;
  /** Set when a courier posts: custody rules and per-courier limits apply. */
  courierId?: string;
  /** The courier's paired device that posted, named in the audit record: one lost phone can be told from the others. */
  deviceId?: string;
  /** Set when a parcel station posts: it holds the parcel and had a recent match (custody). */
  stationId?: string;
  requestId?: string;
}

const CLOSING = new Set(['delivered', 'returned']);
/** Re-decisions after a racing event changed the waybill, before giving up. */
const TRIES = 3;

export function recordWaybillEvent(deps: LifecycleDeps, req: EventRequest): Promise<{ waybillNo: string; status: WaybillRecord['status']; purgeAfter: string }> {
  // A courier's events take turns with its scans (turns.ts), so its limits hold in a burst.
  return req.courierId ? inTurn(`courier:${req.courierId}`, () => recordEvent(deps, req)) : recordEvent(deps, req);
}

async function recordEvent(deps: LifecycleDeps, req: EventRequest): Promise<{ waybillNo: string; status: WaybillRecord['status']; purgeAfter: string }> {
  const now = deps.now();
  const at = now.toISOString();
  const courier = req.courierId ? await activeCourier(deps, req.courierId) : undefined;
  if (courier) await checkCourierLimits(deps, courier, req, now);
  const { event } = req;
  // A correction has the effects of the state it sets; any other event, its own.
  const effect = event.type === 'correction' ? event.status : event.type;
  // A parcel's life ends delivered, returned to its sender or cancelled: its retention period starts.
  const closes = effect === 'delivered' || effect === 'returned' || effect === 'cancelled';
  const purgeAfter = closes ? new Date(now.getTime() + deps.retentionGraceDays * DAY_MS).toISOString() : undefined;

  // What the event does to the relay numbers is owed with it, in its transaction, until done (below).
  const relayDue = deps.relay ? relayEffectOf(effect) : undefined;

  let waybill: WaybillRecord | undefined;
  let change: EventChange | undefined;
  for (let tries = 0; !change; tries++) {
    if (tries === TRIES) throw new WaybillError('conflict', 'the waybill keeps changing; try again');
    waybill = await liveWaybill(deps, req, courier, at);
    const decided = await decide(deps, waybill, req, courier, at);
    if (relayDue) decided.relayDue = relayDue;
    // The event's audit record commits with it: a crash cannot leave a cancel or a correction unaudited.
    const record: AuditEntry =
      event.type === 'correction'
        ? { at, actor: req.actor, action: 'correct', waybillNo: waybill.waybillNo, outcome: event.status, requestId: req.requestId, detail: { from: decided.from.status } }
        : { at, actor: req.actor, action: 'event', waybillNo: waybill.waybillNo, outcome: event.type, requestId: req.requestId, ...detailOf({ ...decided.detail, ...deviceOf(req) }) };
    if (await deps.store.recordEvent(waybill.id, decided, purgeAfter, reopened(decided, waybill.waybillNo, req.actor, deps.relay !== undefined), deps.audit.chain([record]))) change = decided;
  }
  if (courier) await deps.store.recordEventAttempt({ courierId: courier.id, waybillId: waybill!.id, type: event.type, at, outcome: 'ok' });
  if (deps.relay && relayDue) await settleRelay(deps.store, deps.relay, await deps.store.relayDue({ waybillId: waybill!.id }));
  const updated = (await deps.store.findWaybillByNo(req.waybillNo))!;
  return { waybillNo: updated.waybillNo, status: updated.status, purgeAfter: updated.purgeAfter };
}

const CLOSED: ReadonlySet<WaybillStatus> = new Set(['delivered', 'returned', 'cancelled']);

const deviceOf = (req: EventRequest): Record<string, string> => (req.deviceId ? { device: req.deviceId } : {});
const detailOf = (detail: Record<string, string>) => (Object.keys(detail).length ? { detail } : {});

/**
 * Closed states end a parcel's access (scans, relay numbers); a correction back to a live state opens it
 * again, which is worth a second pair of eyes. The alert is written with the correction, so a crash cannot
 * keep one without the other.
 */
function reopened(change: EventChange, waybillNo: string, actor: string, relay: boolean): NewAlert | undefined {
  if (change.type !== 'correction' || !CLOSED.has(change.from.status) || CLOSED.has(change.status)) return undefined;
  // A cancel ended its relay numbers, which stay in quarantine (another buyer never gets them, nor this one
  // back): its paper from now on shows the masked phone and the carrier's service line.
  const numbers = relay && change.from.status === 'cancelled' ? '; its relay numbers ended with the cancel: labels printed from now on show the carrier service line' : '';
  return { at: change.at, kind: 'waybill_reopened', detail: `waybill ${waybillNo} corrected from ${change.from.status} to ${change.status} by ${actor}${numbers}` };
}

async function liveWaybill(deps: LifecycleDeps, req: EventRequest, courier: Courier | undefined, at: string): Promise<WaybillRecord> {
  const waybill = await deps.store.findWaybillByNo(req.waybillNo);
  // A courier of another carrier learns nothing, not even that the number exists.
  if (!waybill || (courier && courier.carrier !== waybill.carrier)) throw new WaybillError('not_found', 'unknown waybill');
  if (!waybill.sealed) throw new WaybillError('gone', 'this waybill is past its life');
  // No event is decided on a state someone wrote in the database: the service would bind it as its own.
  if (waybill.rewritten) throw await tamperedWaybill(deps, waybill, req.actor, at);
  return waybill;
}

async function activeCourier(deps: LifecycleDeps, id: string): Promise<Courier> {
  if (!deps.couriers) throw new Error('courier events need the courier store');
  const courier = await deps.couriers.store.get(id);
  if (!courier || courier.revokedAt || courier.suspendedAt) throw new WaybillError('forbidden', 'this courier may not act now');
  return courier;
}

/** The per-minute limit (429), then the closing burst, which suspends the courier. */
async function checkCourierLimits(deps: LifecycleDeps, courier: Courier, req: EventRequest, now: Date): Promise<void> {
  const limits = deps.couriers!.limits;
  const recent = await deps.store.eventAttemptsSince(courier.id, new Date(now.getTime() - 60_000));
  if (recent.all >= limits.eventsPerMinute) throw new WaybillError('limited', 'too many events this minute', [], 60);
  if (!CLOSING.has(req.event.type) || recent.closing < limits.closeBurst) return;
  const waybill = await deps.store.findWaybillByNo(req.waybillNo);
  if (waybill) await deps.store.recordEventAttempt({ courierId: courier.id, waybillId: waybill.id, type: req.event.type, at: now.toISOString(), outcome: 'suspended' });
  await suspendCourier({ couriers: deps.couriers!.store, store: deps.store, audit: deps.audit }, courier.id, now, 'too many closing events in a minute', req.requestId);
  throw new WaybillError('suspended', 'this courier is suspended; contact the carrier');
}

/**
 * The change this event makes to this waybill, or a refusal: custody first for couriers (403, so a
 * courier without custody learns nothing of the state), then the state machine (409).
 */
async function decide(deps: LifecycleDeps, w: WaybillRecord, req: EventRequest, courier: Courier | undefined, at: string): Promise<EventChange> {
  const { event } = req;
  const from = { status: w.status, ...(w.custodian ? { custodian: w.custodian } : {}) };
  const base = { type: event.type, at, actor: req.actor, from };
  const refuse = async (error: WaybillError, outcome: 'forbidden' | 'invalid_transition') => {
    if (courier) await deps.store.recordEventAttempt({ courierId: courier.id, waybillId: w.id, type: event.type, at, outcome });
    await deps.audit.append({ at, actor: req.actor, action: 'refuse', waybillNo: w.waybillNo, outcome, requestId: req.requestId, detail: { event: event.type, ...deviceOf(req) } });
    return error;
  };
  if (event.type === 'correction') return { ...base, status: event.status, detail: { from: w.status, reason: event.reason } };
  if (courier && !(await holdsCustody(deps.store, w, courier, event.type)))
    throw await refuse(new WaybillError('forbidden', custodyRule(event.type)), 'forbidden');
  // A station hands a parcel over only while it holds it (custodian `station:<id>`, as src/stations/station.ts
  // names it) and after the buyer's digits matched.
  if (req.stationId !== undefined && !(w.custodian === `station:${req.stationId}` && (await deps.stationMatch?.(req.stationId, w.id, new Date(at))) === true))
    throw await refuse(new WaybillError('forbidden', 'a station hands a parcel over only after a pickup verify matched'), 'forbidden');
  let status: WaybillStatus;
  try {
    status = transition(w.status, event.type);
  } catch (e) {
    throw await refuse(e as WaybillError, 'invalid_transition');
  }
  switch (event.type) {
    case 'picked_up':
      return { ...base, status, custodian: courier?.id ?? null };
    case 'handed_over': {
      const to = await deps.couriers?.store.get(event.to);
      if (!to || to.revokedAt || to.suspendedAt || to.carrier !== w.carrier || to.id === courier?.id)
        throw new WaybillError('invalid_input', 'the event is invalid', [{ path: ['to'], message: 'must be another active courier of this carrier' }]);
      return { ...base, status, custodian: to.id, detail: { to: to.id } };
    }
    case 'assigned':
      return { ...base, status, assignedOutlet: event.outlet, detail: { outlet: event.outlet } };
    default:
      return { ...base, status };
  }
}

/** Couriers pick up what they scanned for pickup or what was assigned to their outlet, and close only what they hold. */
async function holdsCustody(store: WaybillStore, w: WaybillRecord, courier: Courier, type: WaybillEvent['type']): Promise<boolean> {
  if (type === 'picked_up') return w.assignedOutlet === courier.outlet || (await store.hasScanned(courier.id, w.id, 'pickup'));
  return w.custodian === courier.id;
}

function custodyRule(type: WaybillEvent['type']): string {
  return type === 'picked_up'
    ? 'a courier picks up only a waybill it scanned for pickup or one assigned to its outlet'
    : 'only the courier holding the parcel (its own pickup or a hand-over to it) may post this';
}

function relayEffectOf(effect: string): RelayEffect | undefined {
  return effect === 'cancelled' || effect === 'delivered' || effect === 'returned' || effect === 'after_sales' ? effect : undefined;
}

/**
 * Makes the relay changes recorded events owe, each as of its event's time and in their order, and marks
 * each done: a cancel ends the numbers, a delivery or a return shortens them to the after-sales window,
 * after-sales lengthens them (never past the cap from the waybill's creation). Each change is idempotent,
 * so one made twice (a crash before its mark) changes nothing more. Returns how many were made.
 */
async function settleRelay(store: WaybillStore, relay: NonNullable<LifecycleDeps['relay']>, due: readonly RelayDue[]): Promise<number> {
  for (const d of due) {
    // A shredded waybill's numbers ended with its purge.
    if (!d.purged) {
      const at = new Date(d.at);
      const cap = new Date(d.createdAt).getTime() + relay.maxDays * DAY_MS;
      const afterSales = new Date(Math.min(cap, at.getTime() + relay.afterSalesDays * DAY_MS));
      if (d.effect === 'cancelled') await relay.provider.end(d.waybillId, at);
      else if (d.effect === 'after_sales') await relay.provider.extend(d.waybillId, afterSales);
      else await relay.provider.reschedule(d.waybillId, afterSales);
    }
    await store.relaySettled(d.eventId);
  }
  return due.length;
}

/** Events recorded by a process that died before their relay change: the sweep makes those older than this. */
const RELAY_DUE_GRACE_MS = 60_000;

/** Makes the relay changes that events older than a minute still owe (their process died in between); returns how many. */
export async function settleRelayDue(deps: Pick<LifecycleDeps, 'store' | 'relay' | 'now'>, batch = 500): Promise<number> {
  if (!deps.relay) return 0;
  const before = new Date(deps.now().getTime() - RELAY_DUE_GRACE_MS).toISOString();
  let settled = 0;
  for (let n = batch; n === batch; settled += n) n = await settleRelay(deps.store, deps.relay, await deps.store.relayDue({ before, limit: batch }));
  return settled;
}

/**
 * Shreds every waybill whose time is up; returns how many this call shredded. Safe to run from several
 * places at once: each waybill is shredded, and its purge audited, by exactly one of them.
 */
export async function purgeDue(deps: LifecycleDeps, batch = 500): Promise<number> {
  let purged = 0;
  for (;;) {
    const at = deps.now().toISOString();
    const due = await deps.store.dueForPurge(at, batch);
    for (const w of due) {
      // The relay bindings end first: a crash between the two leaves the waybill due, and the next sweep
      // ends (again: it is idempotent) and shreds it; never a shredded waybill whose real number still rings.
      await deps.relay?.provider.end(w.id, new Date(at));
      // Its audit record commits with it.
      const trail = deps.audit.chain([{ at, actor: 'system', action: 'purge', waybillNo: w.waybillNo, outcome: 'shredded', detail: { status: w.status } }]);
      if (await deps.store.shred(w.id, at, trail)) purged++;
    }
    if (due.length < batch) return purged;
  }
}
