// Relay bindings in the shared SQLite file (migration 5). The connection comes already migrated, usually
// from SqliteStore.database; several processes may share the file. Exclusivity of a number + extension
// rests on relay_slots' PRIMARY KEY, never on a read-then-write, so no process can double-allocate.

import { createHash, randomInt } from 'node:crypto';
import type Database from 'better-sqlite3';
import { MAX_EXT_LENGTH, randomExtension, type RelayNumber } from '../relay/relayPool';
import type {
  CallerPolicy,
  NewRelayBinding,
  RelayBinding,
  RelayCallReceipt,
  RelayLookupState,
  RelayParty,
  RelayStore,
  RelayUtilisation,
} from '../relay/relayStore';
import { UniqueViolation } from './store';
import { statementCache } from './statementCache';

/** Random extensions tried per number before scanning it; a half-full number rarely needs more than 2. */
const RANDOM_TRIES_PER_NUMBER = 8;
const DAY_MS = 86_400_000;
const PARTIES: readonly RelayParty[] = ['recipient', 'sender'];
const CALLER_POLICIES: readonly CallerPolicy[] = ['anyone', 'couriers', 'parties'];

interface BindingRow {
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

export class SqliteRelayStore implements RelayStore {
  private readonly sql: (text: string) => Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.sql = statementCache(db);
  }

  async allocate(req: NewRelayBinding, pool: RelayNumber[], now: Date, random: (max: number) => number = randomInt): Promise<RelayBinding | undefined> {
    const nowIso = now.toISOString();
    const r = checkRequest(req, nowIso);
    const holdUntil = addDays(r.expiresAt, r.quarantineDays);
    const insertSlot = this.sql('INSERT INTO relay_slots (number, ext, binding_id, held_until) VALUES (?, ?, ?, ?) ON CONFLICT (number, ext) DO NOTHING');
    const takeOver = this.sql('UPDATE relay_slots SET binding_id = ?, held_until = ? WHERE number = ? AND ext = ? AND held_until <= ?');
    // Whoever held the slot before is long past expiry; make sure its real number is gone too.
    const shredPrevious = this.sql(
      'UPDATE relay_bindings SET key_id = NULL, wrapped_key = NULL, sealed = NULL WHERE number = ? AND ext = ? AND sealed IS NOT NULL AND expires_at <= ?',
    );
    const insertBinding = this.sql(
      `INSERT INTO relay_bindings (id, number, ext, waybill_id, party, caller_policy, party_phone_hashes, key_id, wrapped_key, sealed,
                                   valid_from, expires_at, quarantine_until)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // IMMEDIATE: take the write lock up front, so a racing process waits (busy_timeout) instead of
    // failing half-way through with SQLITE_BUSY on the upgrade from read to write.
    const claim = this.db.transaction((number: string, ext: string): boolean => {
      if (insertSlot.run(number, ext, r.id, holdUntil).changes !== 1) {
        if (takeOver.run(r.id, holdUntil, number, ext, nowIso).changes !== 1) return false;
        shredPrevious.run(number, ext, nowIso);
      }
      insertBinding.run(
        r.id, number, ext, r.waybillId, r.party, r.callerPolicy, JSON.stringify(r.partyPhoneHashes),
        r.sealed.keyId, r.sealed.wrappedKey, r.sealed.ciphertext, r.validFrom, r.expiresAt, holdUntil,
      );
      return true;
    });
    const tryClaim = (number: string, ext: string): RelayBinding | undefined => {
      try {
        if (!claim.immediate(number, ext)) return undefined;
      } catch (e) {
        if (/UNIQUE constraint failed: relay_bindings\.id/.test(String((e as Error).message))) throw new UniqueViolation('relay binding id');
        throw e;
      }
      return toBinding(bindingRow(r, number, ext, holdUntil));
    };
    const countHeld = this.sql('SELECT count(*) AS n FROM relay_slots WHERE number = ? AND held_until > ?');
    const heldExts = this.sql('SELECT ext FROM relay_slots WHERE number = ? AND held_until > ?');

    for (const entry of shuffled(pool, random)) {
      const capacity = checkedCapacity(entry);
      if ((countHeld.get(entry.e164, nowIso) as { n: number }).n >= capacity) continue; // full: skip without taking the write lock
      for (let i = 0; i < Math.min(RANDOM_TRIES_PER_NUMBER, capacity); i++) {
        const found = tryClaim(entry.e164, randomExtension(entry.extLength, random));
        if (found) return found;
      }
      // Nearly full: list the free extensions and try each, starting at a random one so racing
      // processes spread out, wrapping round so every free extension is tried.
      const held = new Set((heldExts.all(entry.e164, nowIso) as { ext: string }[]).map((row) => row.ext));
      const free: string[] = [];
      for (let n = 0; n < capacity; n++) {
        const ext = String(n).padStart(entry.extLength, '0');
        if (!held.has(ext)) free.push(ext);
      }
      const start = free.length > 0 ? random(free.length) : 0;
      for (let k = 0; k < free.length; k++) {
        const found = tryClaim(entry.e164, free[(start + k) % free.length]!);
        if (found) return found;
      }
    }
    return undefined;
  }

  async lookup(number: string, ext: string, now: Date): Promise<{ binding: RelayBinding; state: RelayLookupState } | undefined> {
    const nowIso = now.toISOString();
    const row = this.sql('SELECT b.* FROM relay_slots s JOIN relay_bindings b ON b.id = s.binding_id WHERE s.number = ? AND s.ext = ? AND s.held_until > ?')
      .get(number, ext, nowIso) as BindingRow | undefined;
    if (!row) return undefined;
    const live = row.ended_at === null && row.expires_at > nowIso;
    return { binding: toBinding(row), state: live ? 'live' : 'quarantined' };
  }

  async forWaybill(waybillId: string): Promise<RelayBinding[]> {
    const rows = this.sql("SELECT * FROM relay_bindings WHERE waybill_id = ? ORDER BY valid_from, party = 'sender', id").all(waybillId) as BindingRow[];
    return rows.map(toBinding);
  }

  async extend(waybillId: string, expiresAt: string, quarantineDays: number, now: Date = new Date()): Promise<void> {
    const expires = iso(expiresAt, 'expiresAt');
    this.retime(waybillId, now, expires, addDays(expires, checkDays(quarantineDays)), 'later only');
  }

  async setExpiry(waybillId: string, expiresAt: string, quarantineDays: number, now: Date = new Date()): Promise<void> {
    const expires = iso(expiresAt, 'expiresAt');
    const nowIso = now.toISOString();
    // The number reached the buyer until now at least, so a stale label is quarantined from then.
    this.retime(waybillId, now, expires, addDays(expires > nowIso ? expires : nowIso, checkDays(quarantineDays)), 'exactly');
  }

  /** Moves the expiry and hold of a waybill's live bindings; an ended or expired one is never revived. */
  private retime(waybillId: string, now: Date, expires: string, holdUntil: string, how: 'later only' | 'exactly'): void {
    const live = this.sql('SELECT id FROM relay_bindings WHERE waybill_id = ? AND ended_at IS NULL AND sealed IS NOT NULL AND expires_at > ?');
    const [expiry, hold] = how === 'later only' ? ['max(expires_at, ?)', 'max(quarantine_until, ?)'] : ['?', '?'];
    const moveBinding = this.sql(`UPDATE relay_bindings SET expires_at = ${expiry}, quarantine_until = ${hold} WHERE id = ?`);
    const moveSlot = this.sql(`UPDATE relay_slots SET held_until = ${how === 'later only' ? 'max(held_until, ?)' : '?'} WHERE binding_id = ?`);
    this.db
      .transaction(() => {
        for (const { id } of live.all(waybillId, now.toISOString()) as { id: string }[]) {
          moveBinding.run(expires, holdUntil, id);
          moveSlot.run(holdUntil, id);
        }
      })
      .immediate();
  }

  async end(waybillId: string, at: string, quarantineDays: number): Promise<void> {
    const atIso = iso(at, 'at');
    const holdUntil = addDays(atIso, checkDays(quarantineDays));
    const open = this.sql('SELECT id, expires_at FROM relay_bindings WHERE waybill_id = ? AND ended_at IS NULL');
    const shred = this.sql('UPDATE relay_bindings SET ended_at = ?, key_id = NULL, wrapped_key = NULL, sealed = NULL WHERE id = ?');
    const cut = this.sql('UPDATE relay_bindings SET expires_at = ?, quarantine_until = ? WHERE id = ?');
    const moveSlot = this.sql('UPDATE relay_slots SET held_until = ? WHERE binding_id = ?');
    this.db
      .transaction(() => {
        for (const b of open.all(waybillId) as { id: string; expires_at: string }[]) {
          shred.run(atIso, b.id);
          // Quarantine counts from when the number stopped reaching the buyer: now for a live
          // binding; an already expired one keeps the quarantine it has.
          if (b.expires_at > atIso) {
            cut.run(atIso, holdUntil, b.id);
            moveSlot.run(holdUntil, b.id);
          }
        }
      })
      .immediate();
  }

  async expireDue(now: Date): Promise<number> {
    const { changes } = this.sql('UPDATE relay_bindings SET key_id = NULL, wrapped_key = NULL, sealed = NULL WHERE sealed IS NOT NULL AND expires_at <= ?')
      .run(now.toISOString());
    return changes;
  }

  async release(bindingIds: string[]): Promise<void> {
    const dropSlot = this.sql('DELETE FROM relay_slots WHERE binding_id = ?');
    const dropBinding = this.sql('DELETE FROM relay_bindings WHERE id = ?');
    this.db
      .transaction(() => {
        for (const id of bindingIds) {
          dropSlot.run(id);
          dropBinding.run(id);
        }
      })
      .immediate();
  }

  async utilisation(pool: RelayNumber[], now: Date): Promise<RelayUtilisation[]> {
    const counts = this.sql(
      `SELECT count(*) AS held,
              count(*) FILTER (WHERE b.ended_at IS NULL AND b.expires_at > @now) AS live
         FROM relay_slots s JOIN relay_bindings b ON b.id = s.binding_id
        WHERE s.number = @number AND s.held_until > @now`,
    );
    return pool.map((entry) => {
      const row = counts.get({ number: entry.e164, now: now.toISOString() }) as { held: number; live: number };
      return { number: entry.e164, capacity: checkedCapacity(entry), live: row.live, quarantined: row.held - row.live };
    });
  }

  async recordCall(receipt: RelayCallReceipt, receivedAt: string): Promise<'recorded' | 'duplicate' | 'conflict'> {
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
    const bodyHash = createHash('sha256').update(canonicalJson(r)).digest('hex');
    const { changes } = this.sql(
        `INSERT INTO relay_calls (call_id, binding_id, body_hash, started_at, answered_at, ended_at, release_cause, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_id) DO NOTHING`,
      )
      .run(r.callId, r.bindingId ?? null, bodyHash, r.startedAt ?? null, r.answeredAt ?? null, r.endedAt ?? null, r.releaseCause ?? null, iso(receivedAt, 'receivedAt'));
    if (changes === 1) return 'recorded';
    const stored = this.sql('SELECT body_hash FROM relay_calls WHERE call_id = ?').get(r.callId) as { body_hash: string };
    return stored.body_hash === bodyHash ? 'duplicate' : 'conflict';
  }
}

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

function bindingRow(r: NewRelayBinding, number: string, ext: string, holdUntil: string): BindingRow {
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

function toBinding(row: BindingRow): RelayBinding {
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
