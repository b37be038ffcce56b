// Courier rows on either database. The credential hash stays in StoredCourier; the use case strips it.

import type { Courier } from '../couriers/courier';
import type { CourierRepository, StoredCourier } from '../couriers/courierStore';
import { bytewise, isUniqueViolation, type Database } from './database';
import { prepared } from './prepared';
import type { Schema } from './schema';

type Row = Schema['couriers'];

function toCourier(r: Row): Courier {
  return {
    id: r.id,
    carrier: r.carrier as Courier['carrier'],
    name: r.name,
    outlet: r.outlet,
    routes: JSON.parse(r.routes) as string[],
    device: r.device,
    createdAt: r.created_at,
    ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
    ...(r.suspended_at ? { suspendedAt: r.suspended_at } : {}),
    ...(r.suspend_reason ? { suspendReason: r.suspend_reason } : {}),
  };
}

const courierById = prepared((db, a: { id: string }) => db.selectFrom('couriers').selectAll().where('id', '=', a.id));

export class SqlCourierRepository implements CourierRepository {
  constructor(private readonly d: Database) {}

  async insert(c: StoredCourier): Promise<boolean> {
    try {
      await this.d.db
        .insertInto('couriers')
        .values({
          id: c.id,
          carrier: c.carrier,
          name: c.name,
          outlet: c.outlet,
          routes: JSON.stringify(c.routes),
          device: c.device,
          credential_hash: c.credentialHash,
          created_at: c.createdAt,
        })
        .execute();
      return true;
    } catch (e) {
      // The id is the table's only unique column.
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async list(): Promise<Courier[]> {
    // Ordered here, bytewise, so both backends agree whatever the PostgreSQL locale.
    const rows = await this.d.db.selectFrom('couriers').selectAll().execute();
    return rows.sort((a, b) => bytewise(a.created_at, b.created_at) || bytewise(a.id, b.id)).map(toCourier);
  }

  async findById(id: string): Promise<StoredCourier | undefined> {
    const row = (await this.d.run(courierById, { id })).rows[0];
    return row && { ...toCourier(row), credentialHash: row.credential_hash };
  }

  async revoke(id: string, at: string): Promise<boolean> {
    // Both backends count every matched row as updated, so an already revoked courier still answers true.
    const result = await this.d.db
      .updateTable('couriers')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) }))
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async suspend(id: string, at: string, reason: string): Promise<boolean> {
    // Both right-hand sides read the row as it was, so the reason changes only with the time.
    const result = await this.d.db
      .updateTable('couriers')
      .set((eb) => ({
        suspended_at: eb.fn.coalesce('suspended_at', eb.val(at)),
        suspend_reason: eb.case().when('suspended_at', 'is', null).then(eb.val(reason)).else(eb.ref('suspend_reason')).end(),
      }))
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async reinstate(id: string): Promise<boolean> {
    const result = await this.d.db
      .updateTable('couriers')
      .set({ suspended_at: null, suspend_reason: null })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async setPhoneHash(id: string, phoneHash: string): Promise<boolean> {
    const result = await this.d.db
      .updateTable('couriers')
      .set({ phone_hash: phoneHash })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async hasActivePhone(phoneHash: string): Promise<boolean> {
    const row = await this.d.db
      .selectFrom('couriers')
      .select('id')
      .where('phone_hash', '=', phoneHash)
      .where('revoked_at', 'is', null)
      .where('suspended_at', 'is', null)
      .executeTakeFirst();
    return row !== undefined;
  }
}
