// Relay binding, slot and call-receipt rows on either database, and the atomic slot claim. A number +
// extension is exclusive because relay_slots' PRIMARY KEY (number, ext) says so, never because of a
// read-then-write, so no process or instance can double-allocate.
//
// Every transaction here writes first: on SQLite that takes the write lock up front, so a racing process
// waits (busy_timeout) instead of failing with SQLITE_BUSY on an upgrade from read to write; on
// PostgreSQL the first write locks the rows the rest of the transaction depends on.

import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { CallerPolicy, ClaimedBinding, RelayBinding, RelayCallReceipt, RelayParty, RelayRepository } from '../relay/relayStore';
import { bytewise, isUniqueViolation, type Database } from './database';
import type { Schema } from './schema';
import { UniqueViolation } from '../errors';

type BindingRow = Selectable<Schema['relay_bindings']>;

function toBinding(row: BindingRow): RelayBinding {
  return {
    id: row.id,
    number: row.number,
    ext: row.ext,
    waybillId: row.waybill_id,
    party: row.party as RelayParty,
    callerPolicy: row.caller_policy as CallerPolicy,
    partyPhoneHashes: JSON.parse(row.party_phone_hashes) as string[],
    ...(row.key_id && row.wrapped_key && row.sealed ? { sealed: { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.sealed } } : {}),
    validFrom: row.valid_from,
    expiresAt: row.expires_at,
    ...(row.ended_at ? { endedAt: row.ended_at } : {}),
    quarantineUntil: row.quarantine_until,
  };
}

/** The later of a time column and a time (both ISO text of one shape). */
function later(column: 'expires_at' | 'quarantine_until' | 'held_until', time: string): RawBuilder<string> {
  return sql<string>`CASE WHEN ${sql.ref(column)} > ${time} THEN ${sql.ref(column)} ELSE ${time} END`;
}

export class SqlRelayRepository implements RelayRepository {
  constructor(private readonly d: Database) {}

  async tryClaim(b: ClaimedBinding, now: string): Promise<boolean> {
    try {
      return this.d.dialect === 'postgres' ? await this.claimInOneStatement(b, now) : await this.claimInTransaction(b, now);
    } catch (e) {
      // The slot's conflict is handled in the statement, so the binding id is the only unique value left.
      if (isUniqueViolation(e)) throw new UniqueViolation('relay binding id');
      throw e;
    }
  }

  /**
   * PostgreSQL: ONE statement inserts the slot, or takes it over only when its hold is over (ON CONFLICT …
   * DO UPDATE … WHERE), and inserts the binding from the claimed row, in one round trip. A racing instance
   * waits on the row lock, then sees the winner's slot and gets nothing; a taken binding id rolls the
   * slot back with it.
   */
  private async claimInOneStatement(b: ClaimedBinding, now: string): Promise<boolean> {
    const result = await sql`
      WITH slot AS (
        INSERT INTO relay_slots AS s (number, ext, binding_id, held_until) VALUES (${b.number}, ${b.ext}, ${b.id}, ${b.quarantineUntil})
        ON CONFLICT (number, ext) DO UPDATE SET binding_id = EXCLUDED.binding_id, held_until = EXCLUDED.held_until
          WHERE s.held_until <= ${now}
        RETURNING s.number, s.ext
      ), shredded AS (
        -- Whoever held a taken-over slot is long past expiry; make sure its real number is gone too.
        UPDATE relay_bindings SET key_id = NULL, wrapped_key = NULL, sealed = NULL
         WHERE number = ${b.number} AND ext = ${b.ext} AND sealed IS NOT NULL AND expires_at <= ${now} AND EXISTS (SELECT 1 FROM slot)
      )
      INSERT INTO relay_bindings (id, number, ext, waybill_id, party, caller_policy, party_phone_hashes, key_id, wrapped_key, sealed,
                                  valid_from, expires_at, quarantine_until)
      SELECT ${b.id}::text, number, ext, ${b.waybillId}::text, ${b.party}::text, ${b.callerPolicy}::text, ${JSON.stringify(b.partyPhoneHashes)}::text,
             ${b.sealed.keyId}::text, ${b.sealed.wrappedKey}::bytea, ${b.sealed.ciphertext}::bytea, ${b.validFrom}::text, ${b.expiresAt}::text,
             ${b.quarantineUntil}::text
        FROM slot`.execute(this.d.db);
    return result.numAffectedRows === 1n;
  }

  /** SQLite: the same steps in one transaction, which SQLite has no data-modifying WITH for. */
  private claimInTransaction(b: ClaimedBinding, now: string): Promise<boolean> {
    return this.d.db.transaction().execute(async (trx) => {
      const slot = await trx
        .insertInto('relay_slots')
        .values({ number: b.number, ext: b.ext, binding_id: b.id, held_until: b.quarantineUntil })
        .onConflict((oc) =>
          oc
            .columns(['number', 'ext'])
            .doUpdateSet((eb) => ({ binding_id: eb.ref('excluded.binding_id'), held_until: eb.ref('excluded.held_until') }))
            .where('relay_slots.held_until', '<=', now),
        )
        .executeTakeFirst();
      if (Number(slot.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
      // Whoever held a taken-over slot is long past expiry; make sure its real number is gone too.
      await trx
        .updateTable('relay_bindings')
        .set({ key_id: null, wrapped_key: null, sealed: null })
        .where('number', '=', b.number)
        .where('ext', '=', b.ext)
        .where('sealed', 'is not', null)
        .where('expires_at', '<=', now)
        .execute();
      await trx
        .insertInto('relay_bindings')
        .values({
          id: b.id,
          number: b.number,
          ext: b.ext,
          waybill_id: b.waybillId,
          party: b.party,
          caller_policy: b.callerPolicy,
          party_phone_hashes: JSON.stringify(b.partyPhoneHashes),
          key_id: b.sealed.keyId,
          wrapped_key: b.sealed.wrappedKey,
          sealed: b.sealed.ciphertext,
          valid_from: b.validFrom,
          expires_at: b.expiresAt,
          ended_at: null,
          quarantine_until: b.quarantineUntil,
        })
        .execute();
      return true;
    });
  }

  async countHeld(number: string, now: string): Promise<number> {
    const row = await this.d.db
      .selectFrom('relay_slots')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('number', '=', number)
      .where('held_until', '>', now)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async heldExtensions(number: string, now: string): Promise<string[]> {
    const rows = await this.d.db.selectFrom('relay_slots').select('ext').where('number', '=', number).where('held_until', '>', now).execute();
    return rows.map((r) => r.ext);
  }

  async holder(number: string, ext: string, now: string): Promise<RelayBinding | undefined> {
    const row = await this.d.db
      .selectFrom('relay_slots as s')
      .innerJoin('relay_bindings as b', 'b.id', 's.binding_id')
      .selectAll('b')
      .where('s.number', '=', number)
      .where('s.ext', '=', ext)
      .where('s.held_until', '>', now)
      .executeTakeFirst();
    return row && toBinding(row);
  }

  async forWaybill(waybillId: string): Promise<RelayBinding[]> {
    // Ordered here, bytewise, so both backends agree whatever the PostgreSQL locale; a waybill has a few.
    const rows = await this.d.db.selectFrom('relay_bindings').selectAll().where('waybill_id', '=', waybillId).execute();
    const senderLast = (r: BindingRow) => (r.party === 'sender' ? 1 : 0);
    return rows.sort((a, b) => bytewise(a.valid_from, b.valid_from) || senderLast(a) - senderLast(b) || bytewise(a.id, b.id)).map(toBinding);
  }

  async retime(waybillId: string, now: string, expiresAt: string, holdUntil: string, how: 'later only' | 'exactly'): Promise<void> {
    const onlyLater = how === 'later only';
    await this.d.db.transaction().execute(async (trx) => {
      // An ended or expired binding is never revived. On PostgreSQL this UPDATE locks the live rows, as
      // end() does, so the two wait for each other.
      const moved = await trx
        .updateTable('relay_bindings')
        .set({
          expires_at: onlyLater ? later('expires_at', expiresAt) : expiresAt,
          quarantine_until: onlyLater ? later('quarantine_until', holdUntil) : holdUntil,
        })
        .where('waybill_id', '=', waybillId)
        .where('ended_at', 'is', null)
        .where('sealed', 'is not', null)
        .where('expires_at', '>', now)
        .returning('id')
        .execute();
      if (moved.length === 0) return;
      await trx
        .updateTable('relay_slots')
        .set({ held_until: onlyLater ? later('held_until', holdUntil) : holdUntil })
        .where('binding_id', 'in', moved.map((m) => m.id))
        .execute();
    });
  }

  async end(waybillId: string, at: string, holdUntil: string): Promise<void> {
    await this.d.db.transaction().execute(async (trx) => {
      if (this.d.dialect === 'postgres') {
        // Row locks: an instance extending the same waybill at this moment waits, then sees it ended.
        // (Not on SQLite: a read first could not wait for the write lock; the update below takes it.)
        await trx.selectFrom('relay_bindings').select('id').where('waybill_id', '=', waybillId).where('ended_at', 'is', null).forUpdate().execute();
      }
      const cut = await trx
        .updateTable('relay_bindings')
        .set({ expires_at: at, quarantine_until: holdUntil })
        .where('waybill_id', '=', waybillId)
        .where('ended_at', 'is', null)
        .where('expires_at', '>', at)
        .returning('id')
        .execute();
      if (cut.length > 0) await trx.updateTable('relay_slots').set({ held_until: holdUntil }).where('binding_id', 'in', cut.map((c) => c.id)).execute();
      await trx
        .updateTable('relay_bindings')
        .set({ ended_at: at, key_id: null, wrapped_key: null, sealed: null })
        .where('waybill_id', '=', waybillId)
        .where('ended_at', 'is', null)
        .execute();
    });
  }

  async shredExpired(now: string): Promise<number> {
    const result = await this.d.db
      .updateTable('relay_bindings')
      .set({ key_id: null, wrapped_key: null, sealed: null })
      .where('sealed', 'is not', null)
      .where('expires_at', '<=', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async remove(bindingIds: string[]): Promise<void> {
    await this.d.db.transaction().execute(async (trx) => {
      // In slices, well under either database's limit on bound values per statement.
      for (let i = 0; i < bindingIds.length; i += 500) {
        const ids = bindingIds.slice(i, i + 500);
        await trx.deleteFrom('relay_slots').where('binding_id', 'in', ids).execute();
        await trx.deleteFrom('relay_bindings').where('id', 'in', ids).execute();
      }
    });
  }

  async heldPerNumber(numbers: string[], now: string): Promise<Map<string, { held: number; live: number }>> {
    const rows = await this.d.db
      .selectFrom('relay_slots as s')
      .innerJoin('relay_bindings as b', 'b.id', 's.binding_id')
      .select((eb) => [
        's.number',
        eb.fn.countAll().as('held'),
        eb.fn
          .countAll()
          .filterWhere((f) => f.and([f('b.ended_at', 'is', null), f('b.expires_at', '>', now)]))
          .as('live'),
      ])
      .where('s.number', 'in', numbers)
      .where('s.held_until', '>', now)
      .groupBy('s.number')
      .execute();
    return new Map(rows.map((r) => [r.number, { held: Number(r.held), live: Number(r.live) }]));
  }

  async insertCall(r: RelayCallReceipt, bodyHash: string, receivedAt: string): Promise<boolean> {
    const result = await this.d.db
      .insertInto('relay_calls')
      .values({
        call_id: r.callId,
        binding_id: r.bindingId ?? null,
        body_hash: bodyHash,
        started_at: r.startedAt ?? null,
        answered_at: r.answeredAt ?? null,
        ended_at: r.endedAt ?? null,
        release_cause: r.releaseCause ?? null,
        received_at: receivedAt,
      })
      .onConflict((oc) => oc.column('call_id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async callBodyHash(callId: string): Promise<string | undefined> {
    const row = await this.d.db.selectFrom('relay_calls').select('body_hash').where('call_id', '=', callId).executeTakeFirst();
    return row?.body_hash;
  }
}
