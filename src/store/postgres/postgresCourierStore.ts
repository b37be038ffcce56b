// Courier identities on PostgreSQL (migration 4), shared by every instance: a suspension written by one
// instance's harvest check refuses the courier on all of them. Only the SHA-256 of each secret is stored.

import { parseNewCourier, type Courier, type NewCourier } from '../../couriers/courier';
import type { CourierStore } from '../../couriers/courierStore';
import { newCredentialId, newCredential, parseCredential, secretMatches } from '../../auth/credentials';
import { uniqueConstraintOf, type PgDatabase } from './pgDatabase';
import { toCourier, type CourierRow } from '../credentialRows';

export class PostgresCourierStore implements CourierStore {
  constructor(private readonly db: PgDatabase) {}

  async add(input: NewCourier, at: Date): Promise<{ courier: Courier; credential: string }> {
    // Validated here as well as at the edges, so no caller can store a courier the schema refuses.
    const c = parseNewCourier(input);
    const createdAt = at.toISOString();
    // 50-bit ids practically never collide, but a collision must not fail an add: draw again.
    for (let attempt = 0; ; attempt++) {
      const id = newCredentialId();
      const { credential, secretHash } = newCredential(id);
      try {
        await this.db.run(
          `INSERT INTO couriers (id, carrier, name, outlet, routes, device, credential_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [id, c.carrier, c.name, c.outlet, JSON.stringify(c.routes), c.device, secretHash, createdAt],
        );
        return { courier: { ...c, id, createdAt }, credential };
      } catch (e) {
        if (attempt < 3 && uniqueConstraintOf(e) === 'couriers_pkey') continue;
        throw e;
      }
    }
  }

  async list(): Promise<Courier[]> {
    return (await this.db.rows<CourierRow>('SELECT * FROM couriers ORDER BY created_at, id COLLATE "C"')).map(toCourier);
  }

  async get(id: string): Promise<Courier | undefined> {
    const row = await this.row(id);
    return row && toCourier(row);
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    // PostgreSQL counts every matched row as updated, so an already revoked courier still answers true.
    return (await this.db.run('UPDATE couriers SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2', [at.toISOString(), id])) > 0;
  }

  async suspend(id: string, at: Date, reason: string): Promise<boolean> {
    const changed = await this.db.run(
      `UPDATE couriers SET suspended_at = coalesce(suspended_at, $1),
              suspend_reason = CASE WHEN suspended_at IS NULL THEN $2 ELSE suspend_reason END
        WHERE id = $3 AND revoked_at IS NULL`,
      [at.toISOString(), reason, id],
    );
    return changed > 0;
  }

  async reinstate(id: string): Promise<boolean> {
    return (await this.db.run('UPDATE couriers SET suspended_at = NULL, suspend_reason = NULL WHERE id = $1 AND revoked_at IS NULL', [id])) > 0;
  }

  async setPhoneHash(id: string, phoneHash: string): Promise<boolean> {
    return (await this.db.run('UPDATE couriers SET phone_hash = $1 WHERE id = $2 AND revoked_at IS NULL', [phoneHash, id])) > 0;
  }

  async isCourierPhone(phoneHash: string): Promise<boolean> {
    return (await this.db.one('SELECT 1 FROM couriers WHERE phone_hash = $1 AND revoked_at IS NULL AND suspended_at IS NULL', [phoneHash])) !== undefined;
  }

  async authenticate(credential: string): Promise<Courier | undefined> {
    const parsed = parseCredential(credential);
    if (!parsed) return undefined;
    // Courier ids are not secret; the secret itself is compared in constant time.
    const row = await this.row(parsed.id);
    if (!row || !secretMatches(parsed.secret, row.credential_hash)) return undefined;
    return toCourier(row);
  }

  private row(id: string): Promise<CourierRow | undefined> {
    return this.db.one<CourierRow>('SELECT * FROM couriers WHERE id = $1', [id]);
  }
}
