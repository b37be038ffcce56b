// Relay bindings on PostgreSQL, shared by every service instance. A number + extension is exclusive
// because relay_slots' PRIMARY KEY (number, ext) says so: each claim is ONE statement that inserts the
// slot, or takes it over only when its hold is over (ON CONFLICT … DO UPDATE … WHERE), and inserts the
// binding from the claimed row. A racing instance waits on the row lock, then sees the winner's slot and
// gets nothing, so no process-local lock is needed and no slot is ever handed out twice.

import { randomInt } from 'node:crypto';
import { randomExtension, type RelayNumber } from '../../relay/relayPool';
import type { NewRelayBinding, RelayBinding, RelayCallReceipt, RelayLookupState, RelayStore, RelayUtilisation } from '../../relay/relayStore';
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
} from '../relayRows';
import { UniqueViolation } from '../store';
import { uniqueConstraintOf, type PgDatabase, type Queryable } from './pgDatabase';

// $1 number, $2 ext, $3 binding id, $4 hold until, $5 now, then the binding's own fields.
const CLAIM = `
  WITH slot AS (
    INSERT INTO relay_slots AS s (number, ext, binding_id, held_until) VALUES ($1, $2, $3, $4)
    ON CONFLICT (number, ext) DO UPDATE SET binding_id = EXCLUDED.binding_id, held_until = EXCLUDED.held_until
      WHERE s.held_until <= $5
    RETURNING s.number, s.ext
  ), shredded AS (
    -- Whoever held a taken-over slot is long past expiry; make sure its real number is gone too.
    UPDATE relay_bindings SET key_id = NULL, wrapped_key = NULL, sealed = NULL
     WHERE number = $1 AND ext = $2 AND sealed IS NOT NULL AND expires_at <= $5 AND EXISTS (SELECT 1 FROM slot)
  )
  INSERT INTO relay_bindings (id, number, ext, waybill_id, party, caller_policy, party_phone_hashes, key_id, wrapped_key, sealed,
                              valid_from, expires_at, quarantine_until)
  SELECT $3::text, number, ext, $6::text, $7::text, $8::text, $9::text, $10::text, $11::bytea, $12::bytea, $13::text, $14::text, $4::text
    FROM slot`;

export class PostgresRelayStore implements RelayStore {
  constructor(private readonly db: PgDatabase) {}

  async allocate(req: NewRelayBinding, pool: RelayNumber[], now: Date, random: (max: number) => number = randomInt): Promise<RelayBinding | undefined> {
    const nowIso = now.toISOString();
    const r = checkRequest(req, nowIso);
    const holdUntil = addDays(r.expiresAt, r.quarantineDays);
    const tryClaim = async (number: string, ext: string): Promise<RelayBinding | undefined> => {
      let claimed: number;
      try {
        claimed = await this.db.run(CLAIM, [
          number, ext, r.id, holdUntil, nowIso, r.waybillId, r.party, r.callerPolicy, JSON.stringify(r.partyPhoneHashes),
          r.sealed.keyId, r.sealed.wrappedKey, r.sealed.ciphertext, r.validFrom, r.expiresAt,
        ]);
      } catch (e) {
        // One statement: a taken binding id rolls the slot back with it, so nothing leaks.
        if (uniqueConstraintOf(e) === 'relay_bindings_pkey') throw new UniqueViolation('relay binding id');
        throw e;
      }
      return claimed === 1 ? toBinding(bindingRow(r, number, ext, holdUntil)) : undefined;
    };

    for (const entry of shuffled(pool, random)) {
      const capacity = checkedCapacity(entry);
      const held = await this.db.one<{ n: number }>('SELECT count(*)::int AS n FROM relay_slots WHERE number = $1 AND held_until > $2', [entry.e164, nowIso]);
      if (held!.n >= capacity) continue; // full: skip without trying any slot
      for (let i = 0; i < Math.min(RANDOM_TRIES_PER_NUMBER, capacity); i++) {
        const found = await tryClaim(entry.e164, randomExtension(entry.extLength, random));
        if (found) return found;
      }
      // Nearly full: list the free extensions and try each, starting at a random one so racing
      // instances spread out, wrapping round so every free extension is tried.
      const heldExts = new Set(
        (await this.db.rows<{ ext: string }>('SELECT ext FROM relay_slots WHERE number = $1 AND held_until > $2', [entry.e164, nowIso])).map((row) => row.ext),
      );
      const free: string[] = [];
      for (let n = 0; n < capacity; n++) {
        const ext = String(n).padStart(entry.extLength, '0');
        if (!heldExts.has(ext)) free.push(ext);
      }
      const start = free.length > 0 ? random(free.length) : 0;
      for (let k = 0; k < free.length; k++) {
        const found = await tryClaim(entry.e164, free[(start + k) % free.length]!);
        if (found) return found;
      }
    }
    return undefined;
  }

  async lookup(number: string, ext: string, now: Date): Promise<{ binding: RelayBinding; state: RelayLookupState } | undefined> {
    const nowIso = now.toISOString();
    const row = await this.db.one<BindingRow>(
      'SELECT b.* FROM relay_slots s JOIN relay_bindings b ON b.id = s.binding_id WHERE s.number = $1 AND s.ext = $2 AND s.held_until > $3',
      [number, ext, nowIso],
    );
    if (!row) return undefined;
    const live = row.ended_at === null && row.expires_at > nowIso;
    return { binding: toBinding(row), state: live ? 'live' : 'quarantined' };
  }

  async forWaybill(waybillId: string): Promise<RelayBinding[]> {
    const rows = await this.db.rows<BindingRow>(
      `SELECT * FROM relay_bindings WHERE waybill_id = $1 ORDER BY valid_from, party = 'sender', id COLLATE "C"`,
      [waybillId],
    );
    return rows.map(toBinding);
  }

  async extend(waybillId: string, expiresAt: string, quarantineDays: number, now: Date = new Date()): Promise<void> {
    const expires = iso(expiresAt, 'expiresAt');
    await this.retime(waybillId, now, expires, addDays(expires, checkDays(quarantineDays)), 'later only');
  }

  async setExpiry(waybillId: string, expiresAt: string, quarantineDays: number, now: Date = new Date()): Promise<void> {
    const expires = iso(expiresAt, 'expiresAt');
    const nowIso = now.toISOString();
    // The number reached the buyer until now at least, so a stale label is quarantined from then.
    await this.retime(waybillId, now, expires, addDays(expires > nowIso ? expires : nowIso, checkDays(quarantineDays)), 'exactly');
  }

  /** Moves the expiry and hold of a waybill's live bindings; an ended or expired one is never revived. */
  private async retime(waybillId: string, now: Date, expires: string, holdUntil: string, how: 'later only' | 'exactly'): Promise<void> {
    const [expiry, hold, slotHold] = how === 'later only' ? ['greatest(expires_at, $1)', 'greatest(quarantine_until, $2)', 'greatest(held_until, $1)'] : ['$1', '$2', '$1'];
    await this.db.tx(async (q) => {
      for (const { id } of await liveBindings(q, waybillId, now.toISOString())) {
        await q.run(`UPDATE relay_bindings SET expires_at = ${expiry}, quarantine_until = ${hold} WHERE id = $3`, [expires, holdUntil, id]);
        await q.run(`UPDATE relay_slots SET held_until = ${slotHold} WHERE binding_id = $2`, [holdUntil, id]);
      }
    });
  }

  async end(waybillId: string, at: string, quarantineDays: number): Promise<void> {
    const atIso = iso(at, 'at');
    const holdUntil = addDays(atIso, checkDays(quarantineDays));
    await this.db.tx(async (q) => {
      // Row locks: an instance extending the same waybill at this moment waits, then sees it ended.
      const open = await q.rows<{ id: string; expires_at: string }>('SELECT id, expires_at FROM relay_bindings WHERE waybill_id = $1 AND ended_at IS NULL FOR UPDATE', [waybillId]);
      for (const b of open) {
        await q.run('UPDATE relay_bindings SET ended_at = $1, key_id = NULL, wrapped_key = NULL, sealed = NULL WHERE id = $2', [atIso, b.id]);
        // Quarantine counts from when the number stopped reaching the buyer: now for a live
        // binding; an already expired one keeps the quarantine it has.
        if (b.expires_at > atIso) {
          await q.run('UPDATE relay_bindings SET expires_at = $1, quarantine_until = $2 WHERE id = $3', [atIso, holdUntil, b.id]);
          await q.run('UPDATE relay_slots SET held_until = $1 WHERE binding_id = $2', [holdUntil, b.id]);
        }
      }
    });
  }

  async expireDue(now: Date): Promise<number> {
    return this.db.run('UPDATE relay_bindings SET key_id = NULL, wrapped_key = NULL, sealed = NULL WHERE sealed IS NOT NULL AND expires_at <= $1', [now.toISOString()]);
  }

  async release(bindingIds: string[]): Promise<void> {
    if (bindingIds.length === 0) return;
    await this.db.tx(async (q) => {
      await q.run('DELETE FROM relay_slots WHERE binding_id = ANY($1::text[])', [bindingIds]);
      await q.run('DELETE FROM relay_bindings WHERE id = ANY($1::text[])', [bindingIds]);
    });
  }

  async utilisation(pool: RelayNumber[], now: Date): Promise<RelayUtilisation[]> {
    const rows = await this.db.rows<{ number: string; held: number; live: number }>(
      `SELECT s.number, count(*)::int AS held,
              (count(*) FILTER (WHERE b.ended_at IS NULL AND b.expires_at > $2))::int AS live
         FROM relay_slots s JOIN relay_bindings b ON b.id = s.binding_id
        WHERE s.number = ANY($1::text[]) AND s.held_until > $2
        GROUP BY s.number`,
      [pool.map((p) => p.e164), now.toISOString()],
    );
    const byNumber = new Map(rows.map((r) => [r.number, r]));
    return pool.map((entry) => {
      const row = byNumber.get(entry.e164) ?? { held: 0, live: 0 };
      return { number: entry.e164, capacity: checkedCapacity(entry), live: row.live, quarantined: row.held - row.live };
    });
  }

  async recordCall(receipt: RelayCallReceipt, receivedAt: string): Promise<'recorded' | 'duplicate' | 'conflict'> {
    const { receipt: r, bodyHash } = normaliseReceipt(receipt);
    const inserted = await this.db.run(
      `INSERT INTO relay_calls (call_id, binding_id, body_hash, started_at, answered_at, ended_at, release_cause, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (call_id) DO NOTHING`,
      [r.callId, r.bindingId ?? null, bodyHash, r.startedAt ?? null, r.answeredAt ?? null, r.endedAt ?? null, r.releaseCause ?? null, iso(receivedAt, 'receivedAt')],
    );
    if (inserted === 1) return 'recorded';
    const stored = await this.db.one<{ body_hash: string }>('SELECT body_hash FROM relay_calls WHERE call_id = $1', [r.callId]);
    return stored?.body_hash === bodyHash ? 'duplicate' : 'conflict';
  }
}

/** The waybill's bindings that still connect, locked until the transaction ends. */
function liveBindings(q: Queryable, waybillId: string, nowIso: string): Promise<{ id: string }[]> {
  return q.rows<{ id: string }>(
    'SELECT id FROM relay_bindings WHERE waybill_id = $1 AND ended_at IS NULL AND sealed IS NOT NULL AND expires_at > $2 FOR UPDATE',
    [waybillId, nowIso],
  );
}
