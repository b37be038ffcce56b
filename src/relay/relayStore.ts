// Where relay bindings live, behind an async interface like the main Store so PostgreSQL can sit beside
// SQLite. A binding lets a virtual number + extension reach one party's real number while the parcel is
// live; the real number is only ever held sealed, and shredded when the binding ends or expires.

import type { SealedBox } from '../vault/sealing';
import type { RelayNumber } from './relayPool';

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
}

/**
 * 'live': calls go through. 'quarantined': the binding ended or expired and its slot is still held.
 * 'expired' is reserved for callers that want to tell expiry from an explicit end; this store reports
 * both as 'quarantined'.
 */
export type RelayLookupState = 'live' | 'expired' | 'quarantined';

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

export interface RelayStore {
  /**
   * Binds a free number + extension: numbers in random order, random extensions, then a scan of each
   * number's free extensions so a nearly full pool still finds its last slot. A slot whose hold is
   * over (quarantine passed) is taken over. Undefined when the whole pool is in use or quarantined.
   * `random(max)` returns an integer in [0, max); crypto.randomInt by default.
   */
  allocate(req: NewRelayBinding, pool: RelayNumber[], now: Date, random?: (max: number) => number): Promise<RelayBinding | undefined>;
  /** The binding a number + extension leads to, while its slot is held; undefined when free or unknown. */
  lookup(number: string, ext: string, now: Date): Promise<{ binding: RelayBinding; state: RelayLookupState } | undefined>;
  /** Every binding of a waybill, in every state, oldest first. */
  forWaybill(waybillId: string): Promise<RelayBinding[]>;
  /** Moves the expiry of the waybill's live bindings later (never earlier), and their slots' hold with it. */
  extend(waybillId: string, expiresAt: string, quarantineDays: number, now?: Date): Promise<void>;
  /**
   * Sets the expiry of the waybill's live bindings (delivery + after-sales): may move it earlier or
   * later. Quarantine counts from the new expiry, or from `now` if that is already past.
   */
  setExpiry(waybillId: string, expiresAt: string, quarantineDays: number, now?: Date): Promise<void>;
  /** Ends the waybill's bindings at `at`: no more calls, real number shredded, slot quarantined from `at`. */
  end(waybillId: string, at: string, quarantineDays: number): Promise<void>;
  /** Shreds the real number of bindings whose expiry has passed; returns how many were shredded. */
  expireDue(now: Date): Promise<number>;
  /** Removes bindings (and frees their slots) of a print that failed before it was recorded. */
  release(bindingIds: string[]): Promise<void>;
  /** Per pool number: extensions in total, live bindings, and slots held in quarantine. */
  utilisation(pool: RelayNumber[], now: Date): Promise<RelayUtilisation[]>;
  /** Stores a provider's call receipt once: the same receipt again is a 'duplicate', different content under the same call id a 'conflict'. */
  recordCall(receipt: RelayCallReceipt, receivedAt: string): Promise<'recorded' | 'duplicate' | 'conflict'>;
}
