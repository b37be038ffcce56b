// The station handoff: a courier drops a parcel at a station (arrival: custody moves to the station, a
// pickup code is issued, the client hears of it by webhook and tells its buyer); the buyer comes with the
// code and says the last four digits of their phone; the station asks `verify`, which answers only
// match / no match, and a match lets the station post `delivered` for a while.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuditLog } from '../audit/auditLog';
import { WaybillError } from '../errors';
import type { Order } from '../order/orderSchema';
import { DAY_MS } from '../time';
import { inTurn } from '../turns';
import type { Keys } from '../vault/keyFile';
import { openSealedContent, sealWaybill } from '../vault/sealedWaybill';
import type { SealedBox } from '../vault/sealing';
import { hashToken, isWellFormedToken } from '../vault/qrToken';
import { tamperedWaybill } from '../waybills/sealedRecord';
import { transition } from '../waybills/transitions';
import type { WaybillRecord, WaybillStore } from '../waybills/waybillStore';
import { lastFour, stationCustodian, stationDay, type Shelf, type VerifyRequest } from './station';
import type { StationStore } from './stationStore';

export interface StationLimits {
  /** Verify requests one station may make a minute (429 beyond). */
  verifyPerMinute: number;
  /** Wrong answers about one waybill in 24 h after which verify answers no match for it (and alerts). */
  wrongPerWaybillDay: number;
  /** Wrong answers of one station in an hour, about any parcels, beyond which the station is suspended. */
  wrongPerHour: number;
  /** How long after a match the station may post `delivered`. */
  matchMinutes: number;
  /** Whether an arrival may name the parcel by its waybill number alone, rather than by its QR code. */
  arrivalByNumber: boolean;
}

/** How an arrival names its parcel: the QR code's token (proof the parcel is at the counter) or its number. */
export type ArrivalRef = { token: string } | { waybillNo: string };

export interface StationDeps {
  store: WaybillStore;
  stations: StationStore;
  audit: AuditLog;
  keys: Keys;
  limits: StationLimits;
  now: () => Date;
}

export interface StationActor {
  stationId: string;
  /** The audit actor (`station:<key id>`). */
  actor: string;
  requestId?: string;
}

const TRIES = 3;

/**
 * Records a parcel's arrival at the station: the pickup code it got (the same again if it is already here).
 * Custody moves to the station, so by default the parcel must be at the counter: named by the token of
 * the QR code on it, which only the paper carries. By number alone, a station could take over any parcel
 * in a courier's hands from afar (its number is no secret) and keep the courier from delivering it.
 */
export async function recordArrival(deps: StationDeps, who: StationActor, ref: ArrivalRef, shelf: Shelf): Promise<{ waybillNo: string; pickupCode: string; arrivedAt: string; created: boolean }> {
  if ('waybillNo' in ref && !deps.limits.arrivalByNumber)
    throw new WaybillError('forbidden', "arrivals are recorded by the parcel's QR code here (POST /v1/stations/arrivals), which proves the parcel is at the counter");
  const find = () =>
    'token' in ref
      ? isWellFormedToken(ref.token)
        ? deps.store.findWaybillByTokenHash(hashToken(ref.token, deps.keys.tokenKey))
        : Promise.resolve(undefined)
      : deps.store.findWaybillByNo(ref.waybillNo);
  const custodian = stationCustodian(who.stationId);
  for (let tries = 0; tries < TRIES; tries++) {
    const w = await find();
    if (!w) throw new WaybillError('not_found', 'unknown waybill');
    if (!w.sealed) throw new WaybillError('gone', 'this waybill is past its life');
    if (w.rewritten) throw await tamperedWaybill(deps, w, who.actor, deps.now().toISOString());
    if (w.custodian === custodian && w.status === 'picked_up') {
      // A second scan of a parcel already here: the code it has, not a new one. (One handed over is not here.)
      const here = await deps.stations.arrivalOf(who.stationId, w.id);
      if (here) return { waybillNo: w.waybillNo, pickupCode: here.pickupCode, arrivedAt: here.arrivedAt, created: false };
    }
    if (w.custodian?.startsWith('station:') && w.status === 'picked_up') throw new WaybillError('conflict', 'this parcel is at a station already');
    const at = deps.now().toISOString();
    const status = transition(w.status, 'arrived');
    const change = { type: 'arrived', at, actor: who.actor, from: { status: w.status, ...(w.custodian ? { custodian: w.custodian } : {}) }, status, custodian, detail: { station: who.stationId } };
    const pickupCode = await deps.stations.recordArrival(w.id, change, { stationId: who.stationId, day: stationDay(new Date(at)), shelf });
    if (pickupCode === undefined) continue; // a racing event changed the waybill: decide again
    await deps.audit.append({ at, actor: who.actor, action: 'station_arrival', waybillNo: w.waybillNo, outcome: 'ok', requestId: who.requestId, detail: { station: who.stationId } });
    return { waybillNo: w.waybillNo, pickupCode, arrivedAt: at, created: true };
  }
  throw new WaybillError('conflict', 'the waybill keeps changing; try again');
}

/**
 * Whether the digits match the recipient's phone of a parcel this station holds. Every miss (unknown
 * waybill or code, another station's parcel, a waybill locked after too many wrong tries, wrong digits)
 * answers the same no match after the same work: an unseal (of a dummy when there is no candidate) and
 * a constant-time comparison of two HMACs. Only the station's own rate is told apart (429).
 */
export function verifyAtStation(deps: StationDeps, who: StationActor, req: VerifyRequest): Promise<{ match: boolean }> {
  // A station's verifications take turns (turns.ts): a burst of guesses meets the locks one by one.
  // After waiting, the station is read again: the verifications before may have suspended it.
  return inTurn(`station:${who.stationId}`, async (waited) => {
    if (waited && (await deps.stations.suspension(who.stationId))) throw new WaybillError('suspended', STATION_SUSPENDED);
    return verify(deps, who, req);
  });
}

async function verify(deps: StationDeps, who: StationActor, req: VerifyRequest): Promise<{ match: boolean }> {
  const now = deps.now();
  const at = now.toISOString();
  const { limits } = deps;
  if ((await deps.stations.verificationsSince(who.stationId, new Date(now.getTime() - 60_000).toISOString())) >= limits.verifyPerMinute) {
    await deps.stations.recordVerification({ stationId: who.stationId, waybillId: null, at, outcome: 'limited' });
    await deps.audit.append({ at, actor: who.actor, action: 'station_verify', ...(req.waybillNo ? { waybillNo: req.waybillNo } : {}), outcome: 'limited', requestId: who.requestId, detail: { station: who.stationId, limit: 'station' } });
    throw new WaybillError('limited', 'too many verify requests this minute', [], 60);
  }
  const candidate = await heldParcel(deps, who.stationId, req);
  // Counted for a miss too (under an id no waybill has), so a miss costs the same queries as a hit.
  const wrongBefore = await deps.stations.wrongSince(candidate?.id ?? DUMMY_ID, new Date(now.getTime() - DAY_MS).toISOString());
  const locked = wrongBefore >= limits.wrongPerWaybillDay;

  const expected = lastFour(open(deps.keys, candidate).order.recipient.phone);
  const mac = (digits: string) => createHmac('sha256', deps.keys.tokenKey).update(`station-last4\0${digits}`).digest();
  const same = timingSafeEqual(mac(expected), mac(req.phoneLast4));
  const match = same && candidate !== undefined && !locked;
  const outcome = locked ? 'limited' : match ? 'match' : 'no_match';

  await deps.stations.recordVerification({ stationId: who.stationId, waybillId: candidate?.id ?? null, at, outcome });
  const waybillNo = candidate?.waybillNo ?? req.waybillNo;
  await deps.audit.append({
    at,
    actor: who.actor,
    action: 'station_verify',
    ...(waybillNo ? { waybillNo } : {}),
    outcome,
    requestId: who.requestId,
    detail: { station: who.stationId, ...(candidate ? {} : { held: false }), ...(locked ? { limit: 'waybill' } : {}) },
  });
  // The wrong answer that locks the waybill raises an alert, once.
  if (candidate && outcome === 'no_match' && wrongBefore + 1 === limits.wrongPerWaybillDay)
    await deps.store.recordAlert({ at, kind: 'station_verify_locked', detail: `waybill ${candidate.waybillNo} locked for station verify after ${limits.wrongPerWaybillDay} wrong answers in 24 h (station ${who.stationId})` });
  if (outcome === 'no_match') await suspendIfSweeping(deps, who, now);
  return { match };
}

/**
 * The per-waybill lock stops guessing at one parcel; a station guessing a few times at each of many
 * parcels (or at unknown codes) is sweeping buyers' digits: past its hourly limit of wrong answers it is
 * suspended, every key it has, with an alert and an audit record, and this answer is already refused.
 */
async function suspendIfSweeping(deps: StationDeps, who: StationActor, now: Date): Promise<void> {
  const wrong = await deps.stations.wrongOfStationSince(who.stationId, new Date(now.getTime() - 3_600_000).toISOString());
  if (wrong <= deps.limits.wrongPerHour) return;
  const at = now.toISOString();
  const reason = `more than ${deps.limits.wrongPerHour} wrong verify answers in an hour`;
  if (await deps.stations.suspend({ stationId: who.stationId, suspendedAt: at, reason }, { at, kind: 'station_suspended', detail: `station ${who.stationId}: ${reason}` }))
    await deps.audit.append({ at, actor: 'system', action: 'suspend', outcome: 'suspended', requestId: who.requestId, detail: { station: who.stationId, reason } });
  throw new WaybillError('suspended', STATION_SUSPENDED);
}

export const STATION_SUSPENDED = 'this station is suspended until an operator reinstates it (waybill stations reinstate)';

/** Whether this station had a match for this parcel recently enough to hand it over. */
export function matchAllows(deps: Pick<StationDeps, 'stations' | 'limits'>, stationId: string, waybillId: string, now: Date): Promise<boolean> {
  return deps.stations.matchedSince(stationId, waybillId, new Date(now.getTime() - deps.limits.matchMinutes * 60_000).toISOString());
}

/** The live parcel this station holds under the number or code asked about, if any. */
async function heldParcel(deps: StationDeps, stationId: string, req: VerifyRequest): Promise<WaybillRecord | undefined> {
  let w: WaybillRecord | undefined;
  if (req.waybillNo !== undefined) w = await deps.store.findWaybillByNo(req.waybillNo);
  else {
    const arrival = await deps.stations.arrivalByCode(stationId, req.pickupCode!);
    w = arrival && (await deps.store.findWaybillById(arrival.waybillId));
  }
  return w && w.sealed && !w.rewritten && w.status === 'picked_up' && w.custodian === stationCustodian(stationId) ? w : undefined;
}

// A sealed box of the same shape as a waybill's, opened when there is no candidate: the same work either way.
const DUMMY_ID = '00000000-0000-4000-8000-000000000000';
const dummies = new WeakMap<Keys, SealedBox>();
function open(keys: Keys, w: WaybillRecord | undefined): { order: Order } {
  if (w?.sealed) return openSealedContent(keys, w.id, w.sealed);
  let box = dummies.get(keys);
  if (!box) dummies.set(keys, (box = sealWaybill(keys, DUMMY_ID, { order: { recipient: { phone: '+8600000000000' } } as unknown as Order, token: 'x'.repeat(22) })));
  return openSealedContent(keys, DUMMY_ID, box);
}
