// The only door from a QR token to an address: an authenticated courier of the right carrier, a live
// waybill, a stated purpose, within rate limits. Every attempt is counted; harvesting suspends the
// courier; every decision is audited. Refusals carry a stable code, never personal data.

import { WaybillError } from '../errors';
import { CredentialRefused } from '../auth/authFailure';
import type { AuditLog } from '../audit/auditLog';
import type { Courier } from '../couriers/courier';
import type { AuthenticatedCourier, CourierStore } from '../couriers/courierStore';
import { CARRIERS } from '../order/carriers';
import { inTurn } from '../turns';
import type { Address, Order } from '../order/orderSchema';
import { maskPhone } from '../privacy/maskPhone';
import type { ScanAttempt, WaybillRecord, WaybillStore } from '../waybills/waybillStore';
import type { Keys } from '../vault/keyFile';
import { hashToken, isWellFormedToken } from '../vault/qrToken';
import { openSealedContent, sealedRowMatches } from '../vault/sealedWaybill';
import { tamperedWaybill } from './sealedRecord';
import { formatRelay } from '../relay/relayPool';
import { DAY_MS } from '../time';
import type { RefusalTally } from '../audit/refusalTally';
import type { RelayStore } from '../relay/relayStore';

export const SCAN_PURPOSES = ['delivery', 'pickup', 'return', 'customer-service'] as const;
export type ScanPurpose = (typeof SCAN_PURPOSES)[number];

export type RefusalCode = 'unauthenticated' | 'forbidden' | 'suspended' | 'invalid_purpose' | 'not_found' | 'gone' | 'limited';

export interface ScanLimits {
  perMinute: number;
  distinctPerDay: number;
  harvestDistinctPerDay: number;
  harvestUnknownPerHour: number;
  harvestOutOfRoutePerDay: number;
  strict: boolean;
}

export interface ScanDeps {
  store: WaybillStore;
  couriers: CourierStore;
  audit: AuditLog;
  keys: Keys;
  limits: ScanLimits;
  /** Live relay bindings give the number to dial; without them the masked phone and service line. */
  relayBindings?: Pick<RelayStore, 'forWaybill'>;
  /** A suspended or rate-limited courier's repeated refusals: recorded once a minute (refusalTally.ts). */
  refusals: RefusalTally;
  now: () => Date;
}

export interface ScanRequest {
  credential: string | undefined;
  token: string;
  purpose: string;
  requestId: string;
}

export interface PartyDetails {
  name: string;
  /** The number the courier should dial: the relay number + extension, or the masked phone and the carrier's service line — never the real one. */
  phone: string;
  /** The same as dialable parts, for a `tel:` link: the relay number (E.164) and extension, or the service line alone. */
  dial: { number: string; extension?: string };
  address: Address;
}

/** The presenter of a successful scan: everything the courier needs for the stated purpose, nothing more. */
export interface ScanResult {
  waybillNo: string;
  carrier: string;
  status: WaybillRecord['status'];
  purpose: ScanPurpose;
  recipient: PartyDetails;
  sender?: PartyDetails;
  parcel: Order['parcel'];
  routingCode?: string;
  validUntil: string;
}

export async function scanWaybill(deps: ScanDeps, req: ScanRequest): Promise<ScanResult> {
  const authenticate = async () => {
    const courier = req.credential ? await deps.couriers.authenticate(req.credential, deps.now()) : undefined;
    if (!courier) throw new CredentialRefused('unauthenticated', 'a valid courier credential is required');
    return courier;
  };
  const courier = await authenticate();
  // Its scans take turns (turns.ts); after waiting, the courier is read again: the scans before may
  // have suspended it.
  return inTurn(`courier:${courier.id}`, async (waited) => scanAs(deps, req, waited ? await authenticate() : courier));
}

async function scanAs(deps: ScanDeps, req: ScanRequest, courier: AuthenticatedCourier): Promise<ScanResult> {
  const now = deps.now();
  const at = now.toISOString();
  // Only a purpose of the list is recorded: the query's text is the caller's, and the audit log keeps forever.
  const stated = (SCAN_PURPOSES as readonly string[]).includes(req.purpose) ? req.purpose : undefined;

  // A paired device's scans name the device too: one lost phone can be told from the courier's others.
  const audit = (action: 'scan' | 'refuse', outcome: string, waybillNo?: string, detail?: Record<string, string | number>) => {
    const facts = { ...detail, ...(courier.deviceId ? { device: courier.deviceId } : {}) };
    return deps.audit.append({ at, actor: `courier:${courier.id}`, action, waybillNo, purpose: stated, outcome, requestId: req.requestId, ...(Object.keys(facts).length ? { detail: facts } : {}) });
  };
  const refuse = async (code: RefusalCode, message: string, attempt?: ScanAttempt['outcome'], waybill?: WaybillRecord, retryAfter?: number) => {
    if (attempt) await deps.store.recordScanAttempt({ courierId: courier.id, waybillId: waybill?.id, purpose: stated, at, outcome: attempt });
    await audit('refuse', code, waybill?.waybillNo);
    await detectHarvest(deps, courier, now, req.requestId);
    return new WaybillError(code, message, [], retryAfter);
  };
  // Refused before any token is looked up, and again on every retry: on record once a minute, with the
  // count of those in between. Nothing here counts towards harvesting (no token was read).
  const refuseAgain = async (code: 'suspended' | 'limited', message: string, retryAfter?: number) => {
    const tally = deps.refusals.take(`courier:${courier.id}:${code}`, now);
    if (tally) await audit('refuse', code, undefined, tally.repeated ? { repeated: tally.repeated } : undefined);
    return new WaybillError(code, message, [], retryAfter);
  };

  if (courier.revokedAt) {
    await refuse('forbidden', 'this courier credential is revoked');
    throw new CredentialRefused('forbidden', 'this courier credential is revoked');
  }
  if (courier.suspendedAt) throw await refuseAgain('suspended', 'this courier is suspended; contact the carrier');
  if (stated === undefined)
    throw await refuse('invalid_purpose', `purpose must be one of ${SCAN_PURPOSES.join(', ')}`);

  // A malformed token is refused before any lookup, but still counts as an unknown token.
  const found = isWellFormedToken(req.token) ? await deps.store.findWaybillByTokenHash(hashToken(req.token, deps.keys.tokenKey)) : undefined;
  // Another carrier's token is answered exactly as an unknown one, after the same work (no oracle for
  // which tokens are real): counted as an unknown token (per-minute limit, harvest detection), with no
  // waybill attached. Only the audit record says why, and which waybill it was.
  const otherCarrier = found !== undefined && found.carrier !== courier.carrier;
  const waybill = otherCarrier ? undefined : found;

  // The per-minute limit and "already opened today" in one statement; the limit is decided before the
  // token's answer, so a limited courier learns nothing about the token (no attempt recorded, no waybill).
  const gate = await deps.store.scanGate(courier.id, waybill?.id, now, deps.limits.perMinute);
  if (gate.lastMinute >= deps.limits.perMinute) throw await refuseAgain('limited', 'too many scans this minute', 60);

  if (!waybill) {
    await deps.store.recordScanAttempt({ courierId: courier.id, purpose: req.purpose, at, outcome: 'unknown' });
    await audit('refuse', 'not_found', found?.waybillNo, otherCarrier ? { reason: 'other_carrier' } : undefined);
    await detectHarvest(deps, courier, now, req.requestId);
    throw new WaybillError('not_found', 'unknown token');
  }
  // A row changed in the database (its state, say a delivered parcel made live again or given another
  // holder, or what was sealed with it) opens nothing, and is counted as an unknown token.
  const tampered = async () => {
    await deps.store.recordScanAttempt({ courierId: courier.id, purpose: req.purpose, at, outcome: 'unknown' });
    await tamperedWaybill(deps, waybill, `courier:${courier.id}`, at);
    await detectHarvest(deps, courier, now, req.requestId);
    return new WaybillError('not_found', 'unknown token');
  };
  if (waybill.rewritten) throw await tampered();
  if (!waybill.sealed || waybill.status === 'cancelled' || waybill.purgeAfter <= at)
    throw await refuse('gone', 'this waybill is no longer live', 'gone', waybill);
  if (deps.limits.strict && !onRoute(courier, waybill)) throw await refuse('forbidden', 'this waybill is not on your routes', 'out_of_route', waybill);
  const custody = custodyRefusal(waybill, courier.id, req.purpose);
  if (custody) throw await refuse('forbidden', custody, 'forbidden', waybill);

  // A re-scan of a waybill opened today is free; only a first opening needs the day's distinct count.
  if (!gate.openedThisWaybill && (await deps.store.scanCounts(courier.id, waybill.id, now)).distinctOpenedDay >= deps.limits.distinctPerDay) {
    // Below the harvest threshold the limit alone would let a courier take its day's addresses every
    // day unseen: the first refusal in a day raises an alert (no suspension: a busy day looks the same).
    const dayAgo = new Date(now.getTime() - DAY_MS).toISOString();
    await deps.store.recordAlert({ at, kind: 'courier_daily_limit', courierId: courier.id, detail: `opened ${deps.limits.distinctPerDay} distinct waybills in 24 h (the daily limit)` }, dayAgo);
    throw await refuse('limited', 'daily limit of distinct waybills reached', 'limited', waybill, 3600);
  }

  const content = openSealedContent(deps.keys, waybill.id, waybill.sealed);
  // A token is sealed with its waybill: a row given another waybill's token hash, number, order or
  // carrier in the database opens nothing either.
  if (content.token !== req.token || !sealedRowMatches(waybill, content)) throw await tampered();
  // The purpose is kept: a pickup scan is what lets this courier post `picked_up` (lifecycle.ts).
  await deps.store.recordScanAttempt({ courierId: courier.id, waybillId: waybill.id, purpose: req.purpose, at, outcome: 'ok' });
  await audit('scan', 'ok', waybill.waybillNo);

  const purpose = req.purpose as ScanPurpose;
  // A binding whose terms were rewritten in the database is no number to dial: the service line instead.
  const live = (await deps.relayBindings?.forWaybill(waybill.id))?.filter((b) => !b.endedAt && b.sealed && !b.rewritten && b.expiresAt > at) ?? [];
  const party = (who: 'recipient' | 'sender'): PartyDetails => {
    const p = content.order[who];
    const relay = live.find((b) => b.party === who);
    return {
      name: p.name,
      phone: relay ? formatRelay(relay.number, relay.ext, 'zh') : `${maskPhone(p.phone)} / ${CARRIERS[content.order.carrier].serviceNumber}`,
      dial: relay ? { number: relay.number, extension: relay.ext } : { number: CARRIERS[content.order.carrier].serviceNumber },
      address: p.address,
    };
  };
  return {
    waybillNo: waybill.waybillNo,
    carrier: waybill.carrier,
    status: waybill.status,
    purpose,
    recipient: party('recipient'),
    ...(purpose === 'return' ? { sender: party('sender') } : {}),
    parcel: content.order.parcel,
    ...(waybill.routingCode ? { routingCode: waybill.routingCode } : {}),
    validUntil: waybill.purgeAfter,
  };
}

/**
 * Why this courier may not open this waybill for this purpose, beyond carrier, life and routes: a label
 * found in the bin after delivery is worth nothing even to a courier. A delivered or returned parcel
 * opens for the courier who holds it (who delivered or returned it), or for any after an after-sales
 * request (a pickup from the buyer); the sender's details (`return`) are for the courier holding the
 * parcel, or such an after-sales pickup.
 */
function custodyRefusal(w: WaybillRecord, courierId: string, purpose: string): string | undefined {
  if (w.custodian === courierId) return undefined;
  if (w.status === 'delivered' || w.status === 'returned')
    return w.afterSales ? undefined : `this parcel is ${w.status}: it opens for the courier who holds it, or after an after-sales request`;
  if (purpose === 'return') return "the sender's details are for the courier holding the parcel";
  return undefined;
}

function onRoute(courier: Courier, waybill: WaybillRecord): boolean {
  if (courier.routes.length === 0) return true;
  return waybill.routingCode !== undefined && courier.routes.some((r: string) => waybill.routingCode!.startsWith(r));
}

/** Suspends a courier whose refused attempts look like harvesting, with an alert and an audit record. */
async function detectHarvest(deps: ScanDeps, courier: Courier, now: Date, requestId: string): Promise<void> {
  if (courier.suspendedAt || courier.revokedAt) return;
  const c = await deps.store.scanCounts(courier.id, undefined, now);
  const reason =
    c.distinctWaybillsDay >= deps.limits.harvestDistinctPerDay
      ? 'too many distinct waybills'
      : c.unknownLastHour >= deps.limits.harvestUnknownPerHour
        ? 'too many unknown tokens'
        : c.outOfRouteDay >= deps.limits.harvestOutOfRoutePerDay
          ? 'too many scans outside the assigned routes'
          : undefined;
  if (reason) await suspendCourier(deps, courier.id, now, reason, requestId);
}

/** Suspends a courier caught in a burst (scan harvesting, closing events), with an alert and an audit record. */
export async function suspendCourier(
  deps: { couriers: CourierStore; store: WaybillStore; audit: AuditLog },
  courierId: string,
  now: Date,
  reason: string,
  requestId?: string,
): Promise<void> {
  const at = now.toISOString();
  await deps.couriers.suspend(courierId, now, reason);
  await deps.store.recordAlert({ at, kind: 'courier_suspended', courierId, detail: reason });
  await deps.audit.append({ at, actor: 'system', action: 'suspend', outcome: 'suspended', requestId, detail: { courier: courierId, reason } });
}
