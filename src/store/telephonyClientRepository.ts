// Telephony client rows on either database: the credential's secret hash only, and the client's
// `unknown` resolve answers of the last minute (sweep detection).

import type { Selectable } from 'kysely';
import type { StoredTelephonyClient, TelephonyClient, TelephonyClientRepository } from '../relay/telephonyClients';
import { bytewise, step, type Database } from './database';
import type { Schema } from './schema';

type Row = Selectable<Schema['telephony_clients']>;

function toClient(r: Omit<Row, 'credential_hash'>): TelephonyClient {
  return {
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
    ...(r.suspended_at ? { suspendedAt: r.suspended_at } : {}),
    ...(r.suspend_reason ? { suspendReason: r.suspend_reason } : {}),
  };
}

export class SqlTelephonyClientRepository implements TelephonyClientRepository {
  constructor(private readonly d: Database) {}

  async insert(c: StoredTelephonyClient): Promise<void> {
    await this.d.db
      .insertInto('telephony_clients')
      .values({ id: c.id, name: c.name, credential_hash: c.credentialHash, created_at: c.createdAt, revoked_at: c.revokedAt ?? null })
      .execute();
  }

  async findById(id: string): Promise<StoredTelephonyClient | undefined> {
    const r = await this.d.db.selectFrom('telephony_clients').selectAll().where('id', '=', id).executeTakeFirst();
    return r && { ...toClient(r), credentialHash: r.credential_hash };
  }

  async list(): Promise<TelephonyClient[]> {
    // Ordered here, bytewise, so both backends agree whatever the PostgreSQL locale; the list is short.
    const rows = await this.d.db.selectFrom('telephony_clients').select(['id', 'name', 'created_at', 'revoked_at', 'suspended_at', 'suspend_reason']).execute();
    return rows.sort((a, b) => bytewise(a.created_at, b.created_at) || bytewise(a.id, b.id)).map(toClient);
  }

  async revoke(id: string, at: string): Promise<boolean> {
    const r = await this.d.db
      .updateTable('telephony_clients')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) }))
      .where('id', '=', id)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async suspend(id: string, at: string, reason: string): Promise<boolean> {
    const r = await this.d.db
      .updateTable('telephony_clients')
      .set({ suspended_at: at, suspend_reason: reason })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where('suspended_at', 'is', null)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async reinstate(id: string): Promise<boolean> {
    const db = this.d.db;
    return this.d.transaction(function* () {
      const { changes } = yield* step(
        db.updateTable('telephony_clients').set({ suspended_at: null, suspend_reason: null }).where('id', '=', id).where('revoked_at', 'is', null),
      );
      if (!changes) return false;
      yield* step(db.deleteFrom('telephony_unknown_answers').where('client_id', '=', id));
      return true;
    });
  }

  async countUnknownAnswer(id: string, at: string, since: string): Promise<number> {
    const db = this.d.db;
    return this.d.transaction(function* () {
      yield* step(db.deleteFrom('telephony_unknown_answers').where('client_id', '=', id).where('at', '<', since));
      yield* step(db.insertInto('telephony_unknown_answers').values({ client_id: id, at }));
      const { rows } = yield* step(
        db.selectFrom('telephony_unknown_answers').select((eb) => eb.fn.countAll<number | string>().as('n')).where('client_id', '=', id).where('at', '>=', since),
      );
      return Number(rows[0]!.n);
    });
  }
}
