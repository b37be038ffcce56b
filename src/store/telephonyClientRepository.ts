// Telephony client rows on either database: the credential's secret hash only, and the client's
// resolve answers of the last day with the bindings they reached (harvest detection).

import { sql, type Selectable } from 'kysely';
import type { AnswerCounts, StoredTelephonyClient, TelephonyClient, TelephonyClientRepository } from '../relay/telephonyClients';
import { forgetOldest } from './attemptTables';
import { bindRow, liveRows } from './credentialRows';
import { bytewise, step, type Database } from './database';
import type { Schema } from './schema';

type Row = Selectable<Schema['telephony_clients']>;

function toClient(r: Omit<Row, 'credential_hash' | 'binding'>): TelephonyClient {
  return {
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
    ...(r.suspended_at ? { suspendedAt: r.suspended_at } : {}),
    ...(r.suspend_reason ? { suspendReason: r.suspend_reason } : {}),
  };
}

const toStored = (r: Row): StoredTelephonyClient => ({ ...toClient(r), credentialHash: r.credential_hash, binding: r.binding });

export class SqlTelephonyClientRepository implements TelephonyClientRepository {
  constructor(private readonly d: Database) {}

  async insert(c: StoredTelephonyClient): Promise<void> {
    await this.d.db
      .insertInto('telephony_clients')
      .values({ id: c.id, name: c.name, credential_hash: c.credentialHash, created_at: c.createdAt, revoked_at: c.revokedAt ?? null, binding: c.binding })
      .execute();
  }

  async findById(id: string): Promise<StoredTelephonyClient | undefined> {
    const r = await this.d.db.selectFrom('telephony_clients').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toStored(r);
  }

  async live(): Promise<StoredTelephonyClient[]> {
    return (await liveRows(this.d.db, 'telephony_clients')).map(toStored);
  }

  bind(id: string, binding: Buffer): Promise<void> {
    return bindRow(this.d.db, 'telephony_clients', id, binding);
  }

  async list(): Promise<TelephonyClient[]> {
    // Ordered here, bytewise, so both backends agree whatever the PostgreSQL locale; the list is short.
    const rows = await this.d.db.selectFrom('telephony_clients').select(['id', 'name', 'created_at', 'revoked_at', 'suspended_at', 'suspend_reason']).execute();
    return rows.sort((a, b) => bytewise(a.created_at, b.created_at) || bytewise(a.id, b.id)).map(toClient);
  }

  async revoke(id: string, at: string): Promise<boolean> {
    const r = await this.d.db
      .updateTable('telephony_clients')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)), binding: null }))
      .where('id', '=', id)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async suspend(id: string, at: string, reason: string, binding: Buffer | null): Promise<boolean> {
    const r = await this.d.db
      .updateTable('telephony_clients')
      .set({ suspended_at: at, suspend_reason: reason, binding })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where('suspended_at', 'is', null)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async reinstate(id: string, binding: Buffer): Promise<boolean> {
    const db = this.d.db;
    return this.d.transaction(function* () {
      const { changes } = yield* step(
        db.updateTable('telephony_clients').set({ suspended_at: null, suspend_reason: null, binding }).where('id', '=', id).where('revoked_at', 'is', null),
      );
      if (!changes) return false;
      yield* step(db.deleteFrom('telephony_answers').where('client_id', '=', id));
      return true;
    });
  }

  async forgetAnswers(before: string, limit: number): Promise<number> {
    return forgetOldest(this.d.db, 'telephony_answers', before, limit);
  }

  async recordAnswer(id: string, at: string, bindingId: string | null, since: { minute: string; hour: string; day: string }): Promise<AnswerCounts> {
    const db = this.d.db;
    return this.d.transaction(function* () {
      yield* step(db.deleteFrom('telephony_answers').where('client_id', '=', id).where('at', '<', since.day));
      // A binding only the first time in the day (a unique index; unknown answers, NULL, are all kept):
      // the rows stay few (the day's limit), and counting them counts distinct bindings (for the hour,
      // those first reached in it), also when two instances record the same binding at once.
      yield* step(db.insertInto('telephony_answers').values({ client_id: id, at, binding_id: bindingId }).onConflict((oc) => oc.doNothing()));
      // count(x) skips nulls: a CASE without ELSE counts only the rows of its window.
      const { rows } = yield* step(
        db
          .selectFrom('telephony_answers')
          .select([
            sql<number | string>`count(CASE WHEN binding_id IS NULL AND at >= ${since.minute} THEN 1 END)`.as('unknown_minute'),
            sql<number | string>`count(CASE WHEN binding_id IS NULL AND at >= ${since.hour} THEN 1 END)`.as('unknown_hour'),
            sql<number | string>`count(CASE WHEN at >= ${since.hour} THEN binding_id END)`.as('bindings_hour'),
            sql<number | string>`count(binding_id)`.as('bindings_day'),
          ])
          .where('client_id', '=', id)
          .where('at', '>=', since.day),
      );
      const r = rows[0]!;
      return { unknownMinute: Number(r.unknown_minute), unknownHour: Number(r.unknown_hour), bindingsHour: Number(r.bindings_hour), bindingsDay: Number(r.bindings_day) };
    });
  }
}
