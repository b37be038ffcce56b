// Relay bindings: allocation of a number + extension, lookup, expiry and end, over a repository that
// keeps rows and atomic slot claims only. A binding lets a virtual number + extension reach one party's
// real number while the parcel is live; the real number is only ever held sealed, and shredded when the
// binding ends or expires.

import { createHash, randomInt } from 'node:crypto';
import { DAY_MS } from '../time';
import type { RowCheck } from '../auth/credentials';
import type { SealedBox } from '../vault/sealing';
import { MAX_EXT_LENGTH, randomExtension, type RelayNumber } from './relayPool';
import { inChunks } from '../eventLoop';

export type RelayParty = 'recipient' | 'sender';
/** Who may be put through: anyone, authenticated couriers only, or the waybill's own parties only. */
export type CallerPolicy = 'anyone' | 'couriers' | 'parties';

export interface RelayBinding {
  id: string;
  number: string; // E.164 of the relay number
  ext: string; // digits, leading zeros kept
  waybillId: string;
  party: RelayParty;
  callerPolicy: CallerPolicy;
  /** Keyed hashes of the waybill's parties' phones, to recognise them as callers under 'parties'. */
  partyPhoneHashes: string[];
  /** The real number, sealed; absent once the binding ended or expired (shredded). */
  sealed?: SealedBox;
  validFrom: string; // ISO 8601
  expiresAt: string;
  endedAt?: string;
  /** Until when the number + extension stays out of the pool after the binding stops (end or expiry). */
  quarantineUntil: string;
  /** The print run that made it, while its waybill is not saved: provisional, it reaches nobody. */
  leaseId?: string;
  /** The API client whose waybill it serves, for the client's share of the pool. */
  clientId?: string;
  /** Read back with terms (waybill, party, number, callers) that lack the binding made with them: it reaches nobody. */
  rewritten?: boolean;
}

export interface NewRelayBinding {
  id: string;
  waybillId: string;
  party: RelayParty;
  callerPolicy: CallerPolicy;
  partyPhoneHashes: string[];
  sealed: SealedBox;
  validFrom: string;
  expiresAt: string;
  /** Days the number + extension stays unused after the binding stops, so stale labels reach nobody. */
  quarantineDays: number;
  /** The print run making it: the binding is provisional until that run saves its waybill. */
  leaseId?: string;
  clientId?: string;
}

/** A print run's lease as stored (src/printing/printLeases.ts): its bindings are provisional under it. */
export interface RunLeaseRecord {
  id: string;
  clientId?: string;
  /** The host (and PID namespace) and process running the print: a dead process frees it at once. */
  host: string;
  pid: number;
  startedAt: string;
  expiresAt: string;
  /** The run's pages leave as they are made (a streamed batch): a dead run's numbers may be on paper. */
  streamed?: boolean;
}

/**
 * A run's lease not stored yet: the run's first claim stores it in the claim's own transaction (one
 * write transaction fewer a create) and then calls `stored()`.
 */
export interface UnstoredLease {
  record: RunLeaseRecord;
  stored(): void;
}

/**
 * 'live': calls go through. 'quarantined': the binding ended or expired and its slot is still held.
 * 'provisional': made by a print whose waybill is not (or never will be) saved; no call goes through.
 * 'expired' is reserved for callers that want to tell expiry from an explicit end; this store reports
 * both as 'quarantined'.
 */
export type RelayLookupState = 'live' | 'expired' | 'quarantined' | 'provisional' | 'rewritten';

export interface RelayCallReceipt {
  callId: string;
  bindingId?: string;
  startedAt?: string;
  answeredAt?: string;
  endedAt?: string;
  releaseCause?: string;
}

export interface RelayUtilisation {
  number: string;
  capacity: number;
  live: number;
  quarantined: number;
}

/** A binding as claimed: it holds the sealed real number. */
export type ClaimedBinding = RelayBinding & { sealed: SealedBox };

/**
 * Where bindings, their slots and call receipts live (one implementation for both databases, in
 * src/store/). Times are ISO 8601 text of the one shape toISOString() gives, compared as text.
 */
export interface RelayRepository {
  /**
   * Atomically claims each binding's number + extension until its quarantineUntil and stores the binding:
   * the slot is taken when free, or taken over when its hold ended by `now` (then the previous holder's
   * real number, if still kept, is shredded). Per binding, in order: false when its slot is held (also by
   * an earlier binding of the same call). A UniqueViolation, with nothing kept, when a binding id is
   * taken. Exclusivity rests on the slot's primary key. With `lease`, the lease is stored in the same
   * transaction, whatever the claims' outcome.
   */
  tryClaim(bindings: ClaimedBinding[], now: string, lease?: RunLeaseRecord): Promise<boolean[]>;
  /** How many slots the client's bindings hold after `now`. */
  countHeldByClient(clientId: string, now: string): Promise<number>;
  /** How many of the number's extensions are held after `now`. */
  countHeld(number: string, now: string): Promise<number>;
  /** The number's extensions held after `now`. */
  heldExtensions(number: string, now: string): Promise<string[]>;
  /** Every binding not shredded whose terms lack their binding (relayTerms.ts). */
  checkTerms(): Promise<RowCheck>;
  /**
   * The binding whose slot number + ext is held after `now`, and whether its waybill is live
   * (`waybillLive`): its state, as the service wrote it, is neither cancelled nor past its purge (a crash
   * between a cancel's commit and the end of its bindings leaves them live: they must not bridge).
   */
  holder(number: string, ext: string, now: string): Promise<(RelayBinding & { waybillLive: boolean }) | undefined>;
  /** Every binding of a waybill, by validFrom, recipient before sender, then id (bytewise). */
  forWaybill(waybillId: string): Promise<RelayBinding[]>;
  /**
   * Sets the expiry and hold of the waybill's live bindings (not ended, still sealed, expiring after
   * `now`) and their slots' hold; 'later only' never moves a time earlier.
   */
  retime(waybillId: string, now: string, expiresAt: string, holdUntil: string, how: 'later only' | 'exactly'): Promise<void>;
  /**
   * Ends the waybill's open bindings at `at` and shreds their real number; those still live at `at` now
   * expire at `at`, and they and their slots are held until `holdUntil`. Serialised with `retime`.
   */
  end(waybillId: string, at: string, holdUntil: string): Promise<void>;
  /** Shreds the real number of bindings expired by `now`; how many. */
  shredExpired(now: string, limit: number): Promise<number>;
  /** Deletes the bindings and their slots, at once. */
  remove(bindingIds: string[]): Promise<void>;
  /** Ends bindings that never went live at `at` (real number shredded, provisional no more), their slots held until `holdUntil`. */
  retire(bindingIds: string[], at: string, holdUntil: string): Promise<void>;
  /** Per number with held slots: how many are held after `now`, and how many of their bindings are live. */
  heldPerNumber(numbers: string[], now: string): Promise<Map<string, { held: number; live: number }>>;
  /** Stores a receipt unless one with its call id is stored; whether it was stored. */
  insertCall(receipt: RelayCallReceipt, bodyHash: string, receivedAt: string): Promise<boolean>;
  /** The body hash of the receipt stored for a call id. */
  callBodyHash(callId: string): Promise<string | undefined>;
  /** Deletes at most `limit` receipts received before `before`; how many. */
  forgetCalls(before: string, limit: number): Promise<number>;
}

/** The binding a checked request makes on this number + extension, held until its quarantine ends. */
function claimed(r: NewRelayBinding, number: string, ext: string): ClaimedBinding {
  return {
    id: r.id,
    number,
    ext,
    waybillId: r.waybillId,
    party: r.party,
    callerPolicy: r.callerPolicy,
    partyPhoneHashes: [...r.partyPhoneHashes],
    sealed: { keyId: r.sealed.keyId, wrappedKey: r.sealed.wrappedKey, ciphertext: r.sealed.ciphertext },
    validFrom: r.validFrom,
    expiresAt: r.expiresAt,
    quarantineUntil: addDays(r.expiresAt, r.quarantineDays),
    ...(r.leaseId ? { leaseId: r.leaseId } : {}),
    ...(r.clientId ? { clientId: r.clientId } : {}),
  };
}

/** Random extensions tried per number before scanning it; a half-full number rarely needs more than 2. */
const RANDOM_TRIES_PER_NUMBER = 8;

/** A PBX retries an unanswered receipt for minutes, at most hours: a week leaves a wide margin. */
export const CALL_RECEIPTS_KEPT_DAYS = 7;

export class RelayStore {
  constructor(private readonly repo: RelayRepository) {}

  /**
   * Binds a free number + extension: numbers in random order, random extensions, then a scan of each
   * number's free extensions so a nearly full pool still finds its last slot. A slot whose hold is
   * over (quarantine passed) is taken over. Undefined when the whole pool is in use or quarantined.
   * `random(max)` returns an integer in [0, max); crypto.randomInt by default.
   */
  async allocate(req: NewRelayBinding, pool: RelayNumber[], now: Date, random: (max: number) => number = randomInt): Promise<RelayBinding | undefined> {
    const nowIso = now.toISOString();
    const r = checkRequest(req, nowIso);
    const tryClaim = async (number: string, ext: string): Promise<RelayBinding | undefined> => {
      const binding = claimed(r, number, ext);
      return (await this.repo.tryClaim([binding], nowIso))[0] ? binding : undefined;
    };

    for (const entry of shuffled(pool, random)) {
      const capacity = checkedCapacity(entry);
      for (let i = 0; i < Math.min(RANDOM_TRIES_PER_NUMBER, capacity); i++) {
        const found = await tryClaim(entry.e164, randomExtension(entry.extLength, random));
        if (found) return found;
      }
      // Counting reads every held slot of the number (thousands on a busy one), so only a number the
      // random tries missed is counted; a full one is skipped without listing its extensions.
      if ((await this.repo.countHeld(entry.e164, nowIso)) >= capacity) continue;
      // Nearly full: list the free extensions and try each, starting at a random one so racing
      // processes spread out, wrapping round so every free extension is tried.
      const held = new Set(await this.repo.heldExtensions(entry.e164, nowIso));
      const free: string[] = [];
      for (let n = 0; n < capacity; n++) {
        const ext = String(n).padStart(entry.extLength, '0');
        if (!held.has(ext)) free.push(ext);
      }
      const start = free.length > 0 ? random(free.length) : 0;
      for (let k = 0; k < free.length; k++) {
        const found = await tryClaim(entry.e164, free[(start + k) % free.length]!);
        if (found) return found;
      }
    }
    return undefined;
  }

  /**
   * allocate for each request (a waybill's parties), in order. Their first tries, a random extension of
   * a random number each, are claimed together in one transaction (on SQLite the commit is most of a
   * claim's cost); a request whose try missed is then allocated alone. Earlier requests come first: when
   * the pool runs out, a later request's lucky first try gives its slot up to an earlier one, so the
   * outcome is the one binding them one by one would give. An unstored `lease` is stored with the first
   * tries (told by its `stored()`), also when none of them wins.
   */
  async allocateEach(
    reqs: NewRelayBinding[],
    pool: RelayNumber[],
    now: Date,
    lease?: UnstoredLease,
    random: (max: number) => number = randomInt,
  ): Promise<(RelayBinding | undefined)[]> {
    if (!pool.length) return reqs.map(() => undefined);
    const nowIso = now.toISOString();
    const first = reqs.map((req) => {
      const entry = pool[random(pool.length)]!;
      checkedCapacity(entry);
      return claimed(checkRequest(req, nowIso), entry.e164, randomExtension(entry.extLength, random));
    });
    const won = await this.repo.tryClaim(first, nowIso, lease?.record);
    lease?.stored();
    const bound = reqs.map((_, i): RelayBinding | undefined => (won[i] ? first[i] : undefined));
    try {
      for (const [i, req] of reqs.entries()) {
        bound[i] ??= await this.allocate(req, pool, now, random);
        for (let j = reqs.length - 1; !bound[i] && j > i; j--) {
          const later = bound[j];
          if (!later) continue;
          bound[j] = undefined;
          await this.release([later.id]);
          bound[i] = await this.allocate(req, pool, now, random);
        }
      }
    } catch (e) {
      // The caller never learns of bindings made before the failure: none of them may stay.
      await this.release(bound.flatMap((b) => (b ? [b.id] : [])));
      throw e;
    }
    return bound;
  }

  /** The binding a number + extension leads to, while its slot is held; undefined when free or unknown. */
  async lookup(number: string, ext: string, now: Date): Promise<{ binding: RelayBinding; state: RelayLookupState } | undefined> {
    const nowIso = now.toISOString();
    const held = await this.repo.holder(number, ext, nowIso);
    if (!held) return undefined;
    const { waybillLive, ...binding } = held;
    if (binding.rewritten) return { binding, state: 'rewritten' };
    if (binding.leaseId) return { binding, state: 'provisional' };
    const live = !binding.endedAt && binding.expiresAt > nowIso && waybillLive;
    return { binding, state: live ? 'live' : 'quarantined' };
  }

  /** How many slots of the pool the client's bindings hold (live, provisional or quarantined). */
  heldByClient(clientId: string, now: Date): Promise<number> {
    return this.repo.countHeldByClient(clientId, now.toISOString());
  }

  /** Every binding not shredded whose terms were rewritten outside the service (`waybill audit rows`). */
  checkTerms(): Promise<RowCheck> {
    return this.repo.checkTerms();
  }

  /** Every binding of a waybill, in every state, oldest first. */
  forWaybill(waybillId: string): Promise<RelayBinding[]> {
    return this.repo.forWaybill(waybillId);
  }

  /** Moves the expiry of the waybill's live bindings later (never earlier), and their slots' hold with it. */
  async extend(waybillId: string, expiresAt: string, quarantineDays: number, now: Date = new Date()): Promise<void> {
    const expires = iso(expiresAt, 'expiresAt');
    await this.repo.retime(waybillId, now.toISOString(), expires, addDays(expires, checkDays(quarantineDays)), 'later only');
  }

  /**
   * Sets the expiry of the waybill's live bindings (delivery + after-sales): may move it earlier or
   * later. Quarantine counts from the new expiry, or from `now` if that is already past.
   */
  async setExpiry(waybillId: string, expiresAt: string, quarantineDays: number, now: Date = new Date()): Promise<void> {
    const expires = iso(expiresAt, 'expiresAt');
    const nowIso = now.toISOString();
    // The number reached the buyer until now at least, so a stale label is quarantined from then.
    await this.repo.retime(waybillId, nowIso, expires, addDays(expires > nowIso ? expires : nowIso, checkDays(quarantineDays)), 'exactly');
  }

  /** Ends the waybill's bindings at `at`: no more calls, real number shredded, slot quarantined from `at`. */
  async end(waybillId: string, at: string, quarantineDays: number): Promise<void> {
    const atIso = iso(at, 'at');
    // Quarantine counts from when the number stopped reaching the buyer: `at` for a live binding; an
    // already expired one keeps the quarantine it has.
    await this.repo.end(waybillId, atIso, addDays(atIso, checkDays(quarantineDays)));
  }

  /** Shreds the real number of bindings whose expiry has passed; returns how many were shredded. */
  expireDue(now: Date, chunk?: number): Promise<number> {
    const nowIso = now.toISOString();
    return inChunks((limit) => this.repo.shredExpired(nowIso, limit), chunk);
  }

  /**
   * Forgets call receipts received CALL_RECEIPTS_KEPT_DAYS before `now`; returns how many. A receipt is
   * kept only to tell a PBX's retry (the same receipt again) from a different one under its call id;
   * one naming its binding has reached the client as a webhook event.
   */
  forgetOldCalls(now: Date, chunk?: number): Promise<number> {
    const before = new Date(now.getTime() - CALL_RECEIPTS_KEPT_DAYS * DAY_MS).toISOString();
    return inChunks((limit) => this.repo.forgetCalls(before, limit), chunk);
  }

  /** Removes bindings (and frees their slots) of a print that failed before it was recorded. */
  async release(bindingIds: string[]): Promise<void> {
    if (bindingIds.length > 0) await this.repo.remove(bindingIds);
  }

  /**
   * Ends bindings of a failed print whose labels left already (a streamed batch cut short): never live,
   * their numbers quarantined from `at` as an ended binding's are, so a page already out never rings a new buyer.
   */
  async retire(bindingIds: readonly string[], at: Date, quarantineDays: number): Promise<void> {
    if (bindingIds.length > 0) await this.repo.retire([...bindingIds], at.toISOString(), addDays(at.toISOString(), checkDays(quarantineDays)));
  }

  /** Per pool number: extensions in total, live bindings, and slots held in quarantine. */
  async utilisation(pool: RelayNumber[], now: Date): Promise<RelayUtilisation[]> {
    const capacities = pool.map(checkedCapacity);
    const counts = pool.length > 0 ? await this.repo.heldPerNumber(pool.map((p) => p.e164), now.toISOString()) : new Map();
    return pool.map((entry, i) => {
      const c = counts.get(entry.e164) ?? { held: 0, live: 0 };
      return { number: entry.e164, capacity: capacities[i]!, live: c.live, quarantined: c.held - c.live };
    });
  }

  /** Stores a provider's call receipt once: the same receipt again is a 'duplicate', different content under the same call id a 'conflict'. */
  async recordCall(receipt: RelayCallReceipt, receivedAt: string): Promise<'recorded' | 'duplicate' | 'conflict'> {
    const { receipt: r, bodyHash } = normaliseReceipt(receipt);
    if (await this.repo.insertCall(r, bodyHash, iso(receivedAt, 'receivedAt'))) return 'recorded';
    return (await this.repo.callBodyHash(r.callId)) === bodyHash ? 'duplicate' : 'conflict';
  }
}

const PARTIES: readonly RelayParty[] = ['recipient', 'sender'];
const CALLER_POLICIES: readonly CallerPolicy[] = ['anyone', 'couriers', 'parties'];

// Validated here as well as by callers: a malformed binding could reach the wrong person or never expire.
function checkRequest(req: NewRelayBinding, nowIso: string): NewRelayBinding {
  if (typeof req.id !== 'string' || req.id === '') throw new Error('a relay binding needs an id');
  if (typeof req.waybillId !== 'string' || req.waybillId === '') throw new Error('a relay binding needs a waybill id');
  if (!PARTIES.includes(req.party)) throw new Error(`unknown relay party ${String(req.party)}`);
  if (!CALLER_POLICIES.includes(req.callerPolicy)) throw new Error(`unknown caller policy ${String(req.callerPolicy)}`);
  if (!Array.isArray(req.partyPhoneHashes) || !req.partyPhoneHashes.every((h) => typeof h === 'string' && h !== '')) {
    throw new Error('partyPhoneHashes must be a list of hashes');
  }
  if (req.callerPolicy === 'parties' && req.partyPhoneHashes.length === 0) throw new Error("the 'parties' caller policy needs the parties' phone hashes");
  if (!req.sealed || !Buffer.isBuffer(req.sealed.wrappedKey) || !Buffer.isBuffer(req.sealed.ciphertext) || !req.sealed.keyId) {
    throw new Error('a relay binding needs the sealed real number');
  }
  const validFrom = iso(req.validFrom, 'validFrom');
  const expiresAt = iso(req.expiresAt, 'expiresAt');
  if (expiresAt <= validFrom) throw new Error('a relay binding must expire after it becomes valid');
  if (expiresAt <= nowIso) throw new Error('a relay binding must expire in the future');
  return { ...req, validFrom, expiresAt, quarantineDays: checkDays(req.quarantineDays) };
}

function checkDays(days: number): number {
  if (typeof days !== 'number' || !Number.isFinite(days) || days < 0) throw new Error('quarantine days must be a number ≥ 0');
  return days;
}

function checkedCapacity(entry: RelayNumber): number {
  if (!Number.isInteger(entry.extLength) || entry.extLength < 1 || entry.extLength > MAX_EXT_LENGTH) {
    throw new Error(`relay number ${entry.e164}: extension length must be 1 to ${MAX_EXT_LENGTH}`);
  }
  return 10 ** entry.extLength;
}

/**
 * Times are compared as text in SQL, so every stored time has the one shape toISOString() gives
 * (`2026-11-23T10:00:00.000Z`); '…Z' without milliseconds or '+08:00' would sort wrongly.
 */
function iso(value: string, what: string): string {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new Error(`${what} must be an ISO 8601 time`);
  return new Date(ms).toISOString();
}

function addDays(isoTime: string, days: number): string {
  return new Date(Date.parse(isoTime) + days * DAY_MS).toISOString();
}

/** Fisher–Yates with the injected random source, so tests can fix the order. */
function shuffled<T>(items: readonly T[], random: (max: number) => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function canonicalJson(value: object): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** The receipt with its times normalised, and the hash that tells a retried delivery from a conflicting one. */
function normaliseReceipt(receipt: RelayCallReceipt): { receipt: RelayCallReceipt; bodyHash: string } {
  if (typeof receipt.callId !== 'string' || receipt.callId === '') throw new Error('a call receipt needs a call id');
  const r: RelayCallReceipt = {
    callId: receipt.callId,
    ...(receipt.bindingId !== undefined ? { bindingId: receipt.bindingId } : {}),
    ...(receipt.startedAt !== undefined ? { startedAt: iso(receipt.startedAt, 'startedAt') } : {}),
    ...(receipt.answeredAt !== undefined ? { answeredAt: iso(receipt.answeredAt, 'answeredAt') } : {}),
    ...(receipt.endedAt !== undefined ? { endedAt: iso(receipt.endedAt, 'endedAt') } : {}),
    ...(receipt.releaseCause !== undefined ? { releaseCause: receipt.releaseCause } : {}),
  };
  // The receipt only: a retried delivery arrives later but is the same receipt.
  return { receipt: r, bodyHash: createHash('sha256').update(canonicalJson(r)).digest('hex') };
}
