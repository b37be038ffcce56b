// API key rows on either database.

import type { Selectable } from 'kysely';
import type { ApiKey, ApiRole } from '../auth/apiKey';
import type { ApiKeyRepository, StoredApiKey } from '../auth/apiKeyStore';
import { bytewise, type Database } from './database';
import { bindRow, liveRows } from './credentialRows';
import { prepared } from './prepared';
import type { Schema } from './schema';

type Row = Selectable<Schema['api_keys']>;

function toKey(r: Row): ApiKey {
  return {
    id: r.id,
    name: r.name,
    role: r.role as ApiRole,
    ...(r.client_id ? { client: r.client_id } : {}),
    ...(r.station_id ? { station: r.station_id } : {}),
    createdAt: r.created_at,
    ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
  };
}

const toStored = (r: Row): StoredApiKey => ({ ...toKey(r), secretHash: r.secret_hash, binding: r.binding });

const keyById = prepared((db, a: { id: string }) => db.selectFrom('api_keys').selectAll().where('id', '=', a.id));

export class SqlApiKeyRepository implements ApiKeyRepository {
  constructor(private readonly d: Database) {}

  async insert(k: StoredApiKey): Promise<void> {
    await this.d.db
      .insertInto('api_keys')
      .values({ id: k.id, name: k.name, role: k.role, client_id: k.client ?? null, station_id: k.station ?? null, secret_hash: k.secretHash, created_at: k.createdAt, revoked_at: k.revokedAt ?? null, binding: k.binding })
      .execute();
  }

  async list(): Promise<ApiKey[]> {
    // Ordered here, bytewise, so both backends agree whatever the PostgreSQL locale; the list is short.
    const rows = await this.d.db.selectFrom('api_keys').selectAll().execute();
    return rows.sort((a, b) => bytewise(a.created_at, b.created_at) || bytewise(a.id, b.id)).map(toKey);
  }

  async findById(id: string): Promise<StoredApiKey | undefined> {
    const row = (await this.d.run(keyById, { id })).rows[0];
    return row && toStored(row);
  }

  async live(): Promise<StoredApiKey[]> {
    return (await liveRows(this.d.db, 'api_keys')).map(toStored);
  }

  bind(id: string, binding: Buffer): Promise<void> {
    return bindRow(this.d.db, 'api_keys', id, binding);
  }

  async revoke(id: string, at: string): Promise<boolean> {
    const result = await this.d.db
      .updateTable('api_keys')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)), binding: null }))
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
