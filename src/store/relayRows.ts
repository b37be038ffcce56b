// What the SQLite and PostgreSQL relay stores share: request checks, the binding row shape and its
// mapping, time helpers and the canonical receipt hash. Pure; no database here.

import { createHash } from 'node:crypto';
import { MAX_EXT_LENGTH, type RelayNumber } from '../relay/relayPool';
import type { CallerPolicy, NewRelayBinding, RelayBinding, RelayCallReceipt, RelayParty } from '../relay/relayStore';

/** Random extensions tried per number before scanning it; a half-full number rarely needs more than 2. */
export const RANDOM_TRIES_PER_NUMBER = 8;
const DAY_MS = 86_400_000;
const PARTIES: readonly RelayParty[] = ['recipient', 'sender'];
const CALLER_POLICIES: readonly CallerPolicy[] = ['anyone', 'couriers', 'parties'];

export interface BindingRow {
  id: string;
  number: string;
  ext: string;
  waybill_id: string;
  party: RelayParty;
  caller_policy: CallerPolicy;
  party_phone_hashes: string;
  key_id: string | null;
  wrapped_key: Buffer | null;
  sealed: Buffer | null;
  valid_from: string;
  expires_at: string;
  ended_at: string | null;
  quarantine_until: string;
}

// Validated here as well as by callers: a malformed binding could reach the wrong person or never expire.
export function checkRequest(req: NewRelayBinding, nowIso: string): NewRelayBinding {
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

export function checkDays(days: number): number {
  if (typeof days !== 'number' || !Number.isFinite(days) || days < 0) throw new Error('quarantine days must be a number ≥ 0');
  return days;
}

export function checkedCapacity(entry: RelayNumber): number {
  if (!Number.isInteger(entry.extLength) || entry.extLength < 1 || entry.extLength > MAX_EXT_LENGTH) {
    throw new Error(`relay number ${entry.e164}: extension length must be 1 to ${MAX_EXT_LENGTH}`);
  }
  return 10 ** entry.extLength;
}

/**
 * Times are compared as text in SQL, so every stored time has the one shape toISOString() gives
 * (`2026-11-23T10:00:00.000Z`); '…Z' without milliseconds or '+08:00' would sort wrongly.
 */
export function iso(value: string, what: string): string {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new Error(`${what} must be an ISO 8601 time`);
  return new Date(ms).toISOString();
}

export function addDays(isoTime: string, days: number): string {
  return new Date(Date.parse(isoTime) + days * DAY_MS).toISOString();
}

/** Fisher–Yates with the injected random source, so tests can fix the order. */
export function shuffled<T>(items: readonly T[], random: (max: number) => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function canonicalJson(value: object): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

export function bindingRow(r: NewRelayBinding, number: string, ext: string, holdUntil: string): BindingRow {
  return {
    id: r.id,
    number,
    ext,
    waybill_id: r.waybillId,
    party: r.party,
    caller_policy: r.callerPolicy,
    party_phone_hashes: JSON.stringify(r.partyPhoneHashes),
    key_id: r.sealed.keyId,
    wrapped_key: r.sealed.wrappedKey,
    sealed: r.sealed.ciphertext,
    valid_from: r.validFrom,
    expires_at: r.expiresAt,
    ended_at: null,
    quarantine_until: holdUntil,
  };
}

export function toBinding(row: BindingRow): RelayBinding {
  return {
    id: row.id,
    number: row.number,
    ext: row.ext,
    waybillId: row.waybill_id,
    party: row.party,
    callerPolicy: row.caller_policy,
    partyPhoneHashes: JSON.parse(row.party_phone_hashes) as string[],
    ...(row.key_id && row.wrapped_key && row.sealed ? { sealed: { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.sealed } } : {}),
    validFrom: row.valid_from,
    expiresAt: row.expires_at,
    ...(row.ended_at ? { endedAt: row.ended_at } : {}),
    quarantineUntil: row.quarantine_until,
  };
}

/** The receipt with its times normalised, and the hash that tells a retried delivery from a conflicting one. */
export function normaliseReceipt(receipt: RelayCallReceipt): { receipt: RelayCallReceipt; bodyHash: string } {
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
