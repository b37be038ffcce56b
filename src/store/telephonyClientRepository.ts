// Telephony client rows on either database: the credential's secret hash only.

import type { StoredTelephonyClient, TelephonyClientRepository } from '../relay/telephonyClients';
import type { Database } from './database';

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
    return (
      r && { id: r.id, name: r.name, createdAt: r.created_at, ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}), credentialHash: r.credential_hash }
    );
  }
}
