// Relay binding, slot and call-receipt rows on either database, and the atomic slot claim. A number +
// extension is exclusive because relay_slots' PRIMARY KEY (number, ext) says so, never because of a
// read-then-write, so no process or instance can double-allocate.
//
// Every transaction here writes first: on SQLite that takes the write lock up front, so a racing process
// waits for it (database.ts) instead of failing with SQLITE_BUSY on an upgrade from read to write; on
// PostgreSQL the first write locks the rows the rest of the transaction depends on.

import { sql, type ExpressionBuilder, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { CallerPolicy, ClaimedBinding, RelayBinding, RelayCallReceipt, RelayParty, RelayRepository, RunLeaseRecord } from '../relay/relayStore';
import type { RowCheck } from '../auth/credentials';
import { bytewise, isUniqueViolation, step, type Database } from './database';
import { prepared } from './prepared';
import type { Schema } from './schema';
import { UniqueViolation } from '../errors';
import type { OutboxWriter } from './webhookOutbox';
import { insertLease, leaseRow, retireSteps } from './printLeaseRepository';
import { relayTermsBinding, relayTermsHold } from '../relay/relayTerms';
import { rowLifeHolds, type LifeRow } from './waybillLife';
import { bindInPages, checkInPages } from './bindingPages';

type BindingRow = Selectable<Schema['relay_bindings']>;

function termsOf(row: Pick<BindingRow, 'id' | 'number' | 'ext' | 'waybill_id' | 'party' | 'caller_policy' | 'party_phone_hashes' | 'valid_from'>) {
  const { id, number, ext, party, waybill_id: waybillId, caller_policy: callerPolicy, valid_from: validFrom } = row;
  return { id, number, ext, waybillId, party, callerPolicy, partyPhoneHashes: JSON.parse(row.party_phone_hashes) as string[], validFrom };
}

function toBinding(row: BindingRow, key: Buffer | undefined): RelayBinding {
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
    ...(row.lease_id ? { leaseId: row.lease_id } : {}),
    ...(row.client_id ? { clientId: row.client_id } : {}),
    // One that ended or expired reaches nobody whatever its terms say (and owed no binding once shredded).
    ...(row.sealed && !relayTermsHold(key, termsOf(row), row.terms_binding) ? { rewritten: true } : {}),
  };
}

/** The later of a time column and a time (both ISO text of one shape). */
function later(column: 'expires_at' | 'quarantine_until' | 'held_until', time: string): RawBuilder<string> {
  return sql<string>`CASE WHEN ${sql.ref(column)} > ${time} THEN ${sql.ref(column)} ELSE ${time} END`;
}

/** A claimed binding as its row (and the time of the claim), for the prepared statements below. */
type ClaimArgs = Omit<BindingRow, 'ended_at'> & { now: string };

function claimArgs(b: ClaimedBinding, now: string, key: Buffer | undefined): ClaimArgs {
  return {
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
    quarantine_until: b.quarantineUntil,
    lease_id: b.leaseId ?? null,
    client_id: b.clientId ?? null,
    terms_binding: relayTermsBinding(key, b),
    now,
  };
}

/**
 * PostgreSQL: ONE statement inserts the slot, or takes it over only when its hold is over (ON CONFLICT …
 * DO UPDATE … WHERE), and inserts the binding from the claimed row, in one round trip. A racing instance
 * waits on the row lock, then sees the winner's slot and gets nothing; a taken binding id rolls the
 * slot back with it.
 */
const claimInOneStatement = prepared(
  (_, a: ClaimArgs) => sql`
    WITH slot AS (
      INSERT INTO relay_slots AS s (number, ext, binding_id, held_until) VALUES (${a.number}, ${a.ext}, ${a.id}, ${a.quarantine_until})
      ON CONFLICT (number, ext) DO UPDATE SET binding_id = EXCLUDED.binding_id, held_until = EXCLUDED.held_until
        WHERE s.held_until <= ${a.now}
      RETURNING s.number, s.ext
    ), shredded AS (
      -- Whoever held a taken-over slot is long past expiry; make sure its real number is gone too.
      UPDATE relay_bindings SET key_id = NULL, wrapped_key = NULL, sealed = NULL
       WHERE number = ${a.number} AND ext = ${a.ext} AND sealed IS NOT NULL AND expires_at <= ${a.now} AND EXISTS (SELECT 1 FROM slot)
    )
    INSERT INTO relay_bindings (id, number, ext, waybill_id, party, caller_policy, party_phone_hashes, key_id, wrapped_key, sealed,
                                valid_from, expires_at, quarantine_until, lease_id, client_id, terms_binding)
    SELECT ${a.id}::text, number, ext, ${a.waybill_id}::text, ${a.party}::text, ${a.caller_policy}::text, ${a.party_phone_hashes}::text,
           ${a.key_id}::text, ${a.wrapped_key}::bytea, ${a.sealed}::bytea, ${a.valid_from}::text, ${a.expires_at}::text,
           ${a.quarantine_until}::text, ${a.lease_id}::text, ${a.client_id}::text, ${a.terms_binding}::bytea
      FROM slot`,
);

// SQLite: the same steps in one transaction, which SQLite has no data-modifying WITH for.
const claimSlot = prepared((db, a: ClaimArgs) =>
  db
    .insertInto('relay_slots')
    .values({ number: a.number, ext: a.ext, binding_id: a.id, held_until: a.quarantine_until })
    .onConflict((oc) =>
      oc
        .columns(['number', 'ext'])
        .doUpdateSet((eb) => ({ binding_id: eb.ref('excluded.binding_id'), held_until: eb.ref('excluded.held_until') }))
        .where('relay_slots.held_until', '<=', a.now),
    ),
);
const shredPreviousHolder = prepared((db, a: ClaimArgs) =>
  db
    .updateTable('relay_bindings')
    .set({ key_id: null, wrapped_key: null, sealed: null })
    .where('number', '=', a.number)
    .where('ext', '=', a.ext)
    .where('sealed', 'is not', null)
    .where('expires_at', '<=', a.now),
);
const insertBinding = prepared((db, a: ClaimArgs) =>
  db.insertInto('relay_bindings').values({
    id: a.id,
    number: a.number,
    ext: a.ext,
    waybill_id: a.waybill_id,
    party: a.party,
    caller_policy: a.caller_policy,
    party_phone_hashes: a.party_phone_hashes,
    key_id: a.key_id,
    wrapped_key: a.wrapped_key,
    sealed: a.sealed,
    valid_from: a.valid_from,
    expires_at: a.expires_at,
    quarantine_until: a.quarantine_until,
    lease_id: a.lease_id,
    client_id: a.client_id,
    terms_binding: a.terms_binding,
  }),
);

const countHeld = prepared((db, a: { number: string; now: string }) =>
  db
    .selectFrom('relay_slots')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('number', '=', a.number)
    .where('held_until', '>', a.now),
);
// A binding's quarantine_until is its slot's held_until (set together), so the count needs no join.
const countHeldByClient = prepared((db, a: { clientId: string; now: string }) =>
  db
    .selectFrom('relay_bindings')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('client_id', '=', a.clientId)
    .where('quarantine_until', '>', a.now),
);
const bindingsOf = prepared((db, a: { waybillId: string }) => db.selectFrom('relay_bindings').selectAll().where('waybill_id', '=', a.waybillId));

/**
 * Per number: its held slots and its live bindings, as rows of (number, kind, n). Each count reads a
 * covering index (migration 25), not each held slot joined to its binding's row; one statement, so both
 * read the same moment. They agree with that join: a live binding (not ended, not expired) holds its
 * slot, whose held_until is the binding's quarantine_until (set together) and so not before its expiry,
 * and a slot is only claimed once its held_until has passed.
 */
export function poolCounts(db: Kysely<Schema>, numbers: string[], now: string) {
  return db
    .selectFrom('relay_slots')
    .select((eb) => ['number', sql<string>`'held'`.as('kind'), eb.fn.countAll<number | string>().as('n')])
    .where('number', 'in', numbers)
    .where('held_until', '>', now)
    .groupBy('number')
    .unionAll((eb) =>
      eb
        .selectFrom('relay_bindings')
        .select((eb) => ['number', sql<string>`'live'`.as('kind'), eb.fn.countAll<number | string>().as('n')])
        .where('number', 'in', numbers)
        .where('ended_at', 'is', null)
        .where('expires_at', '>', now)
        .groupBy('number'),
    );
}

/** Binds the terms of the relay bindings an earlier release made (migration 39); ended or expired ones (shredded) reach nobody and are left. */
export function bindUnboundTerms(d: Database, key: Buffer | undefined): Promise<number> {
  return bindInPages(
    d,
    (after, limit) => d.db.selectFrom('relay_bindings').selectAll().where('terms_binding', 'is', null).where('sealed', 'is not', null).where('id', '>', after).orderBy('id').limit(limit).execute(),
    (r) => d.db.updateTable('relay_bindings').set({ terms_binding: relayTermsBinding(key, termsOf(r)) }).where('id', '=', r.id).where('terms_binding', 'is', null),
  );
}

export class SqlRelayRepository implements RelayRepository {
  /** `key`: the token key, which binds each binding's terms and reads its waybill's state (none in some tests and benches). */
  constructor(
    private readonly d: Database,
    private readonly outbox: OutboxWriter,
    private readonly key?: Buffer,
  ) {}

  async tryClaim(bindings: ClaimedBinding[], now: string, lease?: RunLeaseRecord): Promise<boolean[]> {
    const all = bindings.map((b) => claimArgs(b, now, this.key));
    const postgres = this.d.dialect === 'postgres';
    try {
      if (postgres && all.length === 1 && !lease) return [(await this.d.run(claimInOneStatement, all[0]!)).changes === 1];
      // Several in one transaction: all or nothing, and on SQLite one commit, which costs more than the claims.
      return await this.d.transaction(function* () {
        // A create's lease, in the transaction of its first claim rather than one of its own.
        if (lease) yield* step(insertLease, leaseRow(lease));
        const claimed: boolean[] = [];
        for (const args of all) {
          if (postgres) {
            claimed.push((yield* step(claimInOneStatement, args)).changes === 1);
            continue;
          }
          const free = (yield* step(claimSlot, args)).changes === 1;
          if (free) {
            yield* step(shredPreviousHolder, args);
            yield* step(insertBinding, args);
          }
          claimed.push(free);
        }
        return claimed;
      });
    } catch (e) {
      // The slot's conflict is handled in the statement, so the binding id (or the lease's, a random UUID) is the only unique value left.
      if (isUniqueViolation(e)) throw new UniqueViolation('relay binding id');
      throw e;
    }
  }

  async countHeldByClient(clientId: string, now: string): Promise<number> {
    const { rows } = await this.d.run(countHeldByClient, { clientId, now });
    return Number(rows[0]!.n);
  }

  async countHeld(number: string, now: string): Promise<number> {
    const { rows } = await this.d.run(countHeld, { number, now });
    return Number(rows[0]!.n);
  }

  async heldExtensions(number: string, now: string): Promise<string[]> {
    const rows = await this.d.db.selectFrom('relay_slots').select('ext').where('number', '=', number).where('held_until', '>', now).execute();
    return rows.map((r) => r.ext);
  }

  async holder(number: string, ext: string, now: string): Promise<(RelayBinding & { waybillLive: boolean }) | undefined> {
    const row = await this.d.db
      .selectFrom('relay_slots as s')
      .innerJoin('relay_bindings as b', 'b.id', 's.binding_id')
      .leftJoin('waybills as w', 'w.id', 'b.waybill_id')
      .selectAll('b')
      .select(['w.status', 'w.custodian', 'w.assigned_outlet', 'w.purge_after', 'w.after_sales', 'w.life_binding'])
      .where('s.number', '=', number)
      .where('s.ext', '=', ext)
      .where('s.held_until', '>', now)
      .executeTakeFirst();
    if (!row) return undefined;
    // Calls end with the parcel's life as the service wrote it, whatever the binding's own expiry says.
    const w = row.status === null ? undefined : { ...(row as LifeRow), id: row.waybill_id };
    const waybillLive = w !== undefined && w.status !== 'cancelled' && w.purge_after !== null && w.purge_after > now && rowLifeHolds(this.key, w);
    return { ...toBinding(row, this.key), waybillLive };
  }

  checkTerms(): Promise<RowCheck> {
    const { db } = this.d;
    // An ended or expired binding (shredded) reaches nobody whatever its terms say.
    const page = (after: string, limit: number) => db.selectFrom('relay_bindings').selectAll().where('sealed', 'is not', null).where('id', '>', after).orderBy('id').limit(limit).execute();
    return checkInPages(page, (r) => relayTermsHold(this.key, termsOf(r), r.terms_binding));
  }

  async forWaybill(waybillId: string): Promise<RelayBinding[]> {
    // Ordered here, bytewise, so both backends agree whatever the PostgreSQL locale; a waybill has a few.
    const { rows } = await this.d.run(bindingsOf, { waybillId });
    const senderLast = (r: BindingRow) => (r.party === 'sender' ? 1 : 0);
    return rows.sort((a, b) => bytewise(a.valid_from, b.valid_from) || senderLast(a) - senderLast(b) || bytewise(a.id, b.id)).map((r) => toBinding(r, this.key));
  }

  async retime(waybillId: string, now: string, expiresAt: string, holdUntil: string, how: 'later only' | 'exactly'): Promise<void> {
    const onlyLater = how === 'later only';
    const { db } = this.d;
    await this.d.transaction(function* () {
      // An ended or expired binding is never revived. On PostgreSQL this UPDATE locks the live rows, as
      // end() does, so the two wait for each other.
      const { rows: moved } = yield* step(
        db
          .updateTable('relay_bindings')
          .set({
            expires_at: onlyLater ? later('expires_at', expiresAt) : expiresAt,
            quarantine_until: onlyLater ? later('quarantine_until', holdUntil) : holdUntil,
          })
          .where('waybill_id', '=', waybillId)
          .where('ended_at', 'is', null)
          .where('sealed', 'is not', null)
          .where('expires_at', '>', now)
          .returning('id'),
      );
      if (moved.length === 0) return;
      yield* step(
        db
          .updateTable('relay_slots')
          .set({ held_until: onlyLater ? later('held_until', holdUntil) : holdUntil })
          .where('binding_id', 'in', moved.map((m) => m.id)),
      );
    });
  }

  async end(waybillId: string, at: string, holdUntil: string): Promise<void> {
    const { db, dialect } = this.d;
    await this.d.transaction(function* () {
      if (dialect === 'postgres') {
        // Row locks: an instance extending the same waybill at this moment waits, then sees it ended.
        // (Not on SQLite, whose write transaction holds the whole file already.)
        yield* step(db.selectFrom('relay_bindings').select('id').where('waybill_id', '=', waybillId).where('ended_at', 'is', null).forUpdate());
      }
      const { rows: cut } = yield* step(
        db
          .updateTable('relay_bindings')
          .set({ expires_at: at, quarantine_until: holdUntil })
          .where('waybill_id', '=', waybillId)
          .where('ended_at', 'is', null)
          .where('expires_at', '>', at)
          .returning('id'),
      );
      if (cut.length > 0) yield* step(db.updateTable('relay_slots').set({ held_until: holdUntil }).where('binding_id', 'in', cut.map((c) => c.id)));
      yield* step(
        db
          .updateTable('relay_bindings')
          .set({ ended_at: at, key_id: null, wrapped_key: null, sealed: null })
          .where('waybill_id', '=', waybillId)
          .where('ended_at', 'is', null),
      );
    });
  }

  async shredExpired(now: string, limit: number): Promise<number> {
    const { db } = this.d;
    // The condition on the row changed too: one extended meanwhile (PostgreSQL re-reads the row) is kept.
    const expired = (eb: ExpressionBuilder<Schema, 'relay_bindings'>) => eb.and([eb('sealed', 'is not', null), eb('expires_at', '<=', now)]);
    const due = db.selectFrom('relay_bindings').select('id').where(expired).limit(limit);
    const result = await db.updateTable('relay_bindings').set({ key_id: null, wrapped_key: null, sealed: null }).where('id', 'in', due).where(expired).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async remove(bindingIds: string[]): Promise<void> {
    const { db } = this.d;
    await this.d.transaction(function* () {
      // In slices, well under either database's limit on bound values per statement.
      for (let i = 0; i < bindingIds.length; i += 500) {
        const ids = bindingIds.slice(i, i + 500);
        yield* step(db.deleteFrom('relay_slots').where('binding_id', 'in', ids));
        yield* step(db.deleteFrom('relay_bindings').where('id', 'in', ids));
      }
    });
  }

  async retire(bindingIds: string[], at: string, holdUntil: string): Promise<void> {
    const { db } = this.d;
    await this.d.transaction(function* () {
      yield* retireSteps(db, bindingIds, at, holdUntil);
    });
  }

  async heldPerNumber(numbers: string[], now: string): Promise<Map<string, { held: number; live: number }>> {
    const counts = new Map<string, { held: number; live: number }>();
    for (const r of await poolCounts(this.d.db, numbers, now).execute()) {
      const c = counts.get(r.number) ?? { held: 0, live: 0 };
      c[r.kind === 'held' ? 'held' : 'live'] = Number(r.n);
      counts.set(r.number, c);
    }
    return counts;
  }

  async insertCall(r: RelayCallReceipt, bodyHash: string, receivedAt: string): Promise<boolean> {
    const { db } = this.d;
    // The receipt and its relay.call_ended webhook events in one transaction; a repeated receipt adds none.
    const { outbox } = this;
    return this.d.transaction(function* () {
      const { changes } = yield* step(
        db
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
          .onConflict((oc) => oc.column('call_id').doNothing()),
      );
      if (changes !== 1) return false;
      if (r.bindingId)
        yield* outbox.call(db, r.bindingId, receivedAt, {
          startedAt: r.startedAt ?? null,
          answeredAt: r.answeredAt ?? null,
          endedAt: r.endedAt ?? null,
          releaseCause: r.releaseCause ?? null,
        });
      return true;
    });
  }

  async forgetCalls(before: string, limit: number): Promise<number> {
    const { db } = this.d;
    const old = db.selectFrom('relay_calls').select('call_id').where('received_at', '<', before).limit(limit);
    return Number((await db.deleteFrom('relay_calls').where('call_id', 'in', old).executeTakeFirst()).numDeletedRows);
  }

  async callBodyHash(callId: string): Promise<string | undefined> {
    const row = await this.d.db.selectFrom('relay_calls').select('body_hash').where('call_id', '=', callId).executeTakeFirst();
    return row?.body_hash;
  }
}
