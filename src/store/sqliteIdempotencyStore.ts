// Idempotency keys in the embedded SQLite file. The primary key (client, key) makes the claim atomic,
// across processes too.

import type Database from 'better-sqlite3';
import type { Claim, IdempotencyStore } from '../http/idempotency';
import type { SealedBox } from '../vault/sealing';
import { statementCache } from './statementCache';
import { settledClaim, type IdempotencyRow } from './idempotencyRows';

export class SqliteIdempotencyStore implements IdempotencyStore {
  private readonly sql: (text: string) => Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.sql = statementCache(db);
  }

  async claim(client: string, key: string, requestHash: string, at: Date, staleBefore: Date): Promise<Claim> {
    return this.db
      .transaction((): Claim => {
        const inserted = this.sql('INSERT OR IGNORE INTO idempotency_keys (client_id, key, request_hash, created_at) VALUES (?, ?, ?, ?)')
          .run(client, key, requestHash, at.toISOString());
        if (inserted.changes === 1) return { state: 'claimed' };
        const row = this.sql('SELECT * FROM idempotency_keys WHERE client_id = ? AND key = ?').get(client, key) as IdempotencyRow;
        const settled = settledClaim(row, requestHash);
        if (settled) return settled;
        if (row.created_at < staleBefore.toISOString()) {
          this.sql('UPDATE idempotency_keys SET created_at = ? WHERE client_id = ? AND key = ?').run(at.toISOString(), client, key);
          return { state: 'claimed' };
        }
        return { state: 'pending' };
      })
      .immediate();
  }

  async complete(client: string, key: string, r: { status: number; contentType: string; location?: string; sealed: SealedBox }, at: Date): Promise<void> {
    this.sql(
      `UPDATE idempotency_keys SET completed_at = ?, status = ?, content_type = ?, location = ?, key_id = ?, wrapped_key = ?, body = ?
        WHERE client_id = ? AND key = ?`,
    ).run(at.toISOString(), r.status, r.contentType, r.location ?? null, r.sealed.keyId, r.sealed.wrappedKey, r.sealed.ciphertext, client, key);
  }

  async abandon(client: string, key: string): Promise<void> {
    this.sql('DELETE FROM idempotency_keys WHERE client_id = ? AND key = ? AND completed_at IS NULL').run(client, key);
  }

  async expire(before: Date): Promise<number> {
    return this.sql('DELETE FROM idempotency_keys WHERE created_at < ?').run(before.toISOString()).changes;
  }
}
