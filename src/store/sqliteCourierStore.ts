// Courier identities in the shared SQLite file (migration 4). The connection comes already migrated,
// usually from SqliteStore.database. Only the SHA-256 of each credential secret is written.

import type Database from 'better-sqlite3';
import { parseNewCourier, type Courier, type NewCourier } from '../couriers/courier';
import type { CourierStore } from '../couriers/courierStore';
import { newCredentialId, newCredential, parseCredential, secretMatches } from '../auth/credentials';
import { statementCache } from './statementCache';
import { toCourier, type CourierRow } from './credentialRows';

export class SqliteCourierStore implements CourierStore {
  private readonly sql: (text: string) => Database.Statement;

  constructor(db: Database.Database) {
    this.sql = statementCache(db);
  }

  async add(input: NewCourier, at: Date): Promise<{ courier: Courier; credential: string }> {
    // Validated here as well as at the edges, so no caller can store a courier the schema refuses.
    const c = parseNewCourier(input);
    const insert = this.sql(
      `INSERT INTO couriers (id, carrier, name, outlet, routes, device, credential_hash, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const createdAt = at.toISOString();
    // 50-bit ids practically never collide, but a collision must not fail an add: draw again.
    for (let attempt = 0; ; attempt++) {
      const id = newCredentialId();
      const { credential, secretHash } = newCredential(id);
      try {
        insert.run(id, c.carrier, c.name, c.outlet, JSON.stringify(c.routes), c.device, secretHash, createdAt);
        return { courier: { ...c, id, createdAt }, credential };
      } catch (e) {
        if (attempt < 3 && /UNIQUE constraint failed: couriers\.id/.test(String((e as Error).message))) continue;
        throw e;
      }
    }
  }

  async list(): Promise<Courier[]> {
    return (this.sql('SELECT * FROM couriers ORDER BY created_at, id').all() as CourierRow[]).map(toCourier);
  }

  async get(id: string): Promise<Courier | undefined> {
    const row = this.row(id);
    return row && toCourier(row);
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    // SQLite counts every matched row as changed, so an already revoked courier still answers true.
    const { changes } = this.sql('UPDATE couriers SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?').run(at.toISOString(), id);
    return changes > 0;
  }

  async suspend(id: string, at: Date, reason: string): Promise<boolean> {
    const { changes } = this.sql(
        `UPDATE couriers SET suspended_at = coalesce(suspended_at, ?),
                suspend_reason = CASE WHEN suspended_at IS NULL THEN ? ELSE suspend_reason END
          WHERE id = ? AND revoked_at IS NULL`,
      )
      .run(at.toISOString(), reason, id);
    return changes > 0;
  }

  async reinstate(id: string): Promise<boolean> {
    const { changes } = this.sql('UPDATE couriers SET suspended_at = NULL, suspend_reason = NULL WHERE id = ? AND revoked_at IS NULL')
      .run(id);
    return changes > 0;
  }

  async setPhoneHash(id: string, phoneHash: string): Promise<boolean> {
    return this.sql('UPDATE couriers SET phone_hash = ? WHERE id = ? AND revoked_at IS NULL').run(phoneHash, id).changes > 0;
  }

  async isCourierPhone(phoneHash: string): Promise<boolean> {
    const row = this.sql('SELECT 1 FROM couriers WHERE phone_hash = ? AND revoked_at IS NULL AND suspended_at IS NULL').get(phoneHash);
    return row !== undefined;
  }

  async authenticate(credential: string): Promise<Courier | undefined> {
    const parsed = parseCredential(credential);
    if (!parsed) return undefined;
    // Courier ids are not secret (lists, audit lines), so an early return for an unknown id leaks
    // nothing; the secret itself is compared in constant time.
    const row = this.row(parsed.id);
    if (!row || !secretMatches(parsed.secret, row.credential_hash)) return undefined;
    return toCourier(row);
  }

  private row(id: string): CourierRow | undefined {
    return this.sql('SELECT * FROM couriers WHERE id = ?').get(id) as CourierRow | undefined;
  }
}
