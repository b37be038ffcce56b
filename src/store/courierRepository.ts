// Courier rows on either database. The credential hash stays in StoredCourier; the use case strips it.

import type { Courier } from '../couriers/courier';
import type { CourierDevice } from '../couriers/courierDevice';
import type { CourierRepository, RedeemOutcome, StoredCourier, StoredDevice, StoredPairing } from '../couriers/courierStore';
import { bytewise, isUniqueViolation, step, type Database } from './database';
import { bindRow, liveRows } from './credentialRows';
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

const toStored = (r: Row): StoredCourier => ({ ...toCourier(r), credentialHash: r.credential_hash, binding: r.binding });
const toStoredDevice = (r: Schema['courier_devices']): StoredDevice => ({ ...toDevice(r), secretHash: r.secret_hash, binding: r.binding });

function toDevice(r: Schema['courier_devices']): CourierDevice {
  return {
    id: r.id,
    courierId: r.courier_id,
    name: r.name,
    createdAt: r.created_at,
    ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
    ...(r.last_used_at ? { lastUsedAt: r.last_used_at } : {}),
  };
}

const courierById = prepared((db, a: { id: string }) => db.selectFrom('couriers').selectAll().where('id', '=', a.id));
// Every device-credential request reads its device: a prepared statement, like the courier's.
const deviceById = prepared((db, a: { id: string }) => db.selectFrom('courier_devices').selectAll().where('id', '=', a.id));

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
          binding: c.binding,
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
    return row && toStored(row);
  }

  async revoke(id: string, at: string): Promise<boolean> {
    // Both backends count every matched row as updated, so an already revoked courier still answers true.
    const result = await this.d.db
      .updateTable('couriers')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)), binding: null }))
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async suspend(id: string, at: string, reason: string, binding: Buffer | null): Promise<boolean> {
    // Both right-hand sides read the row as it was, so the reason changes only with the time.
    const result = await this.d.db
      .updateTable('couriers')
      .set((eb) => ({
        suspended_at: eb.fn.coalesce('suspended_at', eb.val(at)),
        suspend_reason: eb.case().when('suspended_at', 'is', null).then(eb.val(reason)).else(eb.ref('suspend_reason')).end(),
        binding,
      }))
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async reinstate(id: string, binding: Buffer): Promise<boolean> {
    const result = await this.d.db
      .updateTable('couriers')
      .set({ suspended_at: null, suspend_reason: null, binding })
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

  async insertPairing(p: StoredPairing): Promise<void> {
    const d = this.d;
    const replace = () =>
      d.transaction(function* () {
        // Earlier unused codes of this courier are void once a new one is issued: they were never used, so nothing is lost.
        yield* step(d.db.deleteFrom('courier_pairings').where('courier_id', '=', p.courierId).where('used_at', 'is', null));
        yield* step(d.db.insertInto('courier_pairings').values({ code_hash: p.codeHash, courier_id: p.courierId, created_at: p.createdAt, expires_at: p.expiresAt }));
      });
    // A concurrent issue for the same courier may commit its open code first (one open code per courier):
    // then again, now that its row is visible to the delete. Each retry follows a commit, so a few suffice.
    for (let attempt = 1; ; attempt++) {
      try {
        return await replace();
      } catch (e) {
        if (!isUniqueViolation(e) || attempt >= 8) throw e;
      }
    }
  }

  async redeemPairing(codeHash: string, at: string, device: Omit<StoredDevice, 'courierId' | 'binding'>, bind: (courierId: string) => Buffer, maxDevices: number): Promise<RedeemOutcome> {
    const d = this.d;
    try {
      return await d.transaction<RedeemOutcome>(function* () {
        const found = (
          yield* step(
            d.db
              .selectFrom('courier_pairings')
              .innerJoin('couriers', 'couriers.id', 'courier_pairings.courier_id')
              .select('courier_pairings.courier_id as courierId')
              .where('courier_pairings.code_hash', '=', codeHash)
              .where('courier_pairings.used_at', 'is', null)
              .where('courier_pairings.expires_at', '>', at)
              .where('couriers.revoked_at', 'is', null)
              .where('couriers.suspended_at', 'is', null),
          )
        ).rows[0];
        if (!found) return { outcome: 'refused' };
        const counted = yield* step(
          d.db.selectFrom('courier_devices').select((eb) => eb.fn.countAll().as('n')).where('courier_id', '=', found.courierId).where('revoked_at', 'is', null),
        );
        if (Number(counted.rows[0]!.n) >= maxDevices) return { outcome: 'limit' };
        // The claim: of two redeems of one code, the second finds used_at set (on PostgreSQL it waits for
        // the first's row lock, then re-reads the row) and changes nothing.
        const claimed = yield* step(
          d.db
            .updateTable('courier_pairings')
            .set({ used_at: at, device_id: device.id })
            .where('code_hash', '=', codeHash)
            .where('used_at', 'is', null)
            .where('expires_at', '>', at),
        );
        if (claimed.changes === 0) return { outcome: 'refused' };
        yield* step(
          d.db.insertInto('courier_devices').values({
            id: device.id,
            courier_id: found.courierId,
            name: device.name,
            secret_hash: device.secretHash,
            created_at: device.createdAt,
            binding: bind(found.courierId),
          }),
        );
        return { outcome: 'paired', courierId: found.courierId };
      });
    } catch (e) {
      // The device id is the only unique column written; the claim went back with the transaction.
      if (isUniqueViolation(e)) return { outcome: 'id_taken' };
      throw e;
    }
  }

  async live(): Promise<{ couriers: StoredCourier[]; devices: StoredDevice[] }> {
    const { db } = this.d;
    return { couriers: (await liveRows(db, 'couriers')).map(toStored), devices: (await liveRows(db, 'courier_devices')).map(toStoredDevice) };
  }

  bind(row: { courier: string } | { device: string }, binding: Buffer): Promise<void> {
    return 'courier' in row ? bindRow(this.d.db, 'couriers', row.courier, binding) : bindRow(this.d.db, 'courier_devices', row.device, binding);
  }

  async listDevices(courierId: string): Promise<CourierDevice[]> {
    const rows = await this.d.db.selectFrom('courier_devices').selectAll().where('courier_id', '=', courierId).execute();
    return rows.sort((a, b) => bytewise(a.created_at, b.created_at) || bytewise(a.id, b.id)).map(toDevice);
  }

  async findDevice(id: string): Promise<StoredDevice | undefined> {
    const row = (await this.d.run(deviceById, { id })).rows[0];
    return row && toStoredDevice(row);
  }

  async revokeDevice(courierId: string, deviceId: string, at: string): Promise<boolean> {
    const result = await this.d.db
      .updateTable('courier_devices')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)), binding: null }))
      .where('id', '=', deviceId)
      .where('courier_id', '=', courierId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async touchDevice(id: string, at: string, staleBefore: string): Promise<void> {
    await this.d.db
      .updateTable('courier_devices')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', staleBefore)]))
      .execute();
  }
}
