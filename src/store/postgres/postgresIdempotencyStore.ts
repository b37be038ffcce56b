// Idempotency keys on PostgreSQL (migration 7). The primary key (client, key) makes the claim atomic
// across instances: exactly one INSERT wins; every other instance sees the row and waits for its answer.
// Taking over a stale claim is one conditional UPDATE, so two instances cannot both take it over.

import type { Claim, IdempotencyStore } from '../../http/idempotency';
import type { SealedBox } from '../../vault/sealing';
import type { PgDatabase } from './pgDatabase';
import { settledClaim, type IdempotencyRow } from '../idempotencyRows';

export class PostgresIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: PgDatabase) {}

  async claim(client: string, key: string, requestHash: string, at: Date, staleBefore: Date): Promise<Claim> {
    for (;;) {
      const inserted = await this.db.run(
        'INSERT INTO idempotency_keys (client_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (client_id, key) DO NOTHING',
        [client, key, requestHash, at.toISOString()],
      );
      if (inserted === 1) return { state: 'claimed' };
      const row = await this.db.one<IdempotencyRow>('SELECT * FROM idempotency_keys WHERE client_id = $1 AND key = $2', [client, key]);
      if (!row) continue; // abandoned (or expired) between the two statements: claim afresh
      const settled = settledClaim(row, requestHash);
      if (settled) return settled;
      if (row.created_at < staleBefore.toISOString()) {
        const taken = await this.db.run(
          'UPDATE idempotency_keys SET created_at = $1 WHERE client_id = $2 AND key = $3 AND completed_at IS NULL AND created_at < $4',
          [at.toISOString(), client, key, staleBefore.toISOString()],
        );
        if (taken === 1) return { state: 'claimed' };
      }
      return { state: 'pending' };
    }
  }

  async complete(client: string, key: string, r: { status: number; contentType: string; location?: string; sealed: SealedBox }, at: Date): Promise<void> {
    await this.db.run(
      `UPDATE idempotency_keys SET completed_at = $1, status = $2, content_type = $3, location = $4, key_id = $5, wrapped_key = $6, body = $7
        WHERE client_id = $8 AND key = $9`,
      [at.toISOString(), r.status, r.contentType, r.location ?? null, r.sealed.keyId, r.sealed.wrappedKey, r.sealed.ciphertext, client, key],
    );
  }

  async abandon(client: string, key: string): Promise<void> {
    await this.db.run('DELETE FROM idempotency_keys WHERE client_id = $1 AND key = $2 AND completed_at IS NULL', [client, key]);
  }

  async expire(before: Date): Promise<number> {
    return this.db.run('DELETE FROM idempotency_keys WHERE created_at < $1', [before.toISOString()]);
  }
}
