// Idempotency key rows on either database. The primary key (client, key) makes the claim atomic; taking
// over a stale claim is one conditional UPDATE, so two processes cannot both take it over.

import type { Kysely } from 'kysely';
import type { IdempotencyRepository, KeptRequest } from '../http/idempotency';
import type { KeptAnswer } from '../waybills/waybillStore';
import type { Database } from './database';
import type { Schema } from './schema';

/** The statement that stores a claim's answer: on its own, or in the save of the waybill it answers for. */
export function completion(db: Kysely<Schema>, { client, key, at, response: r }: KeptAnswer) {
  return db
    .updateTable('idempotency_keys')
    .set({
      completed_at: at,
      status: r.status,
      content_type: r.contentType,
      location: r.location ?? null,
      warnings: r.warnings?.length ? JSON.stringify(r.warnings) : null,
      key_id: r.sealed.keyId,
      wrapped_key: r.sealed.wrappedKey,
      body: r.sealed.ciphertext,
    })
    .where('client_id', '=', client)
    .where('key', '=', key);
}

/** The request hash of a key used with another request: no HMAC (hex) equals it. */
const BURNED = 'burned';

export class SqlIdempotencyRepository implements IdempotencyRepository {
  constructor(private readonly d: Database) {}

  async insertPending(client: string, key: string, requestHash: string, at: string): Promise<boolean> {
    const result = await this.d.db
      .insertInto('idempotency_keys')
      .values({ client_id: client, key, request_hash: requestHash, created_at: at })
      .onConflict((oc) => oc.columns(['client_id', 'key']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async find(client: string, key: string): Promise<KeptRequest | undefined> {
    const r = await this.d.db.selectFrom('idempotency_keys').selectAll().where('client_id', '=', client).where('key', '=', key).executeTakeFirst();
    if (!r) return undefined;
    const done = r.completed_at && r.key_id && r.wrapped_key && r.body;
    return {
      requestHash: r.request_hash,
      createdAt: r.created_at,
      ...(done
        ? {
            response: {
              status: r.status!,
              contentType: r.content_type!,
              ...(r.location ? { location: r.location } : {}),
              ...(r.warnings ? { warnings: JSON.parse(r.warnings) as string[] } : {}),
              sealed: { keyId: r.key_id!, wrappedKey: r.wrapped_key!, ciphertext: r.body! },
            },
          }
        : {}),
    };
  }

  async takeOver(client: string, key: string, at: string, staleBefore: string): Promise<boolean> {
    const result = await this.d.db
      .updateTable('idempotency_keys')
      .set({ created_at: at })
      .where('client_id', '=', client)
      .where('key', '=', key)
      .where('completed_at', 'is', null)
      .where('created_at', '<', staleBefore)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async complete(answer: KeptAnswer): Promise<void> {
    await completion(this.d.db, answer).execute();
  }

  async deletePending(client: string, key: string): Promise<void> {
    await this.d.db.deleteFrom('idempotency_keys').where('client_id', '=', client).where('key', '=', key).where('completed_at', 'is', null).execute();
  }

  async burn(client: string, key: string): Promise<void> {
    await this.d.db
      .updateTable('idempotency_keys')
      .set({ request_hash: BURNED, key_id: null, wrapped_key: null, body: null })
      .where('client_id', '=', client)
      .where('key', '=', key)
      .execute();
  }

  async deleteCreatedBefore(before: string, limit: number): Promise<number> {
    const { db } = this.d;
    const due = db.selectFrom('idempotency_keys').select(['client_id', 'key']).where('created_at', '<', before).limit(limit).$asTuple('client_id', 'key');
    // The condition on the row deleted too: a claim taken over meanwhile (PostgreSQL re-reads the row) stays.
    const result = await db.deleteFrom('idempotency_keys').where((eb) => eb(eb.refTuple('client_id', 'key'), 'in', due)).where('created_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
