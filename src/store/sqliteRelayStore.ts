// Relay bindings in the shared SQLite file (migration 5). The connection comes already migrated, usually
// from SqliteStore.database; several processes may share the file. Exclusivity of a number + extension
// rests on relay_slots' PRIMARY KEY, never on a read-then-write, so no process can double-allocate.

import { randomInt } from 'node:crypto';
import type Database from 'better-sqlite3';
import { randomExtension, type RelayNumber } from '../relay/relayPool';
import type { NewRelayBinding, RelayBinding, RelayCallReceipt, RelayLookupState, RelayStore, RelayUtilisation } from '../relay/relayStore';
import {
  RANDOM_TRIES_PER_NUMBER,
  addDays,
  bindingRow,
  checkDays,
  checkRequest,
  checkedCapacity,
  iso,
  normaliseReceipt,
  shuffled,
  toBinding,
  type BindingRow,
} from './relayRows';
import { UniqueViolation } from './store';
import { statementCache } from './statementCache';

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
    const { receipt: r, bodyHash } = normaliseReceipt(receipt);
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

