// API keys on PostgreSQL (migration 7): the secret's hash only, as for couriers. A key revoked through
// one instance is refused by all of them at the next request.

import { NewApiKey, type ApiKey } from '../../auth/apiKey';
import type { ApiKeyStore } from '../../auth/apiKeyStore';
import { newCredentialId, newCredential, parseCredential, secretMatches } from '../../couriers/credentials';
import { toApiKey, type ApiKeyRow } from '../apiKeyRows';
import type { PgDatabase } from './pgDatabase';


export class PostgresApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: PgDatabase) {}

  async add(input: NewApiKey, at: Date): Promise<{ key: ApiKey; credential: string }> {
    const k = NewApiKey.parse(input);
    const id = newCredentialId();
    const { credential, secretHash } = newCredential(id, 'wbk');
    const createdAt = at.toISOString();
    await this.db.run('INSERT INTO api_keys (id, name, role, client_id, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      id, k.name, k.role, k.client ?? null, secretHash, createdAt,
    ]);
    return { key: { id, name: k.name, role: k.role, ...(k.client ? { client: k.client } : {}), createdAt }, credential };
  }

  async list(): Promise<ApiKey[]> {
    return (await this.db.rows<ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at, id COLLATE "C"')).map(toApiKey);
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    return (await this.db.run('UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2', [at.toISOString(), id])) > 0;
  }

  async authenticate(credential: string): Promise<ApiKey | undefined> {
    const parsed = parseCredential(credential, 'wbk');
    if (!parsed) return undefined;
    const row = await this.db.one<ApiKeyRow>('SELECT * FROM api_keys WHERE id = $1', [parsed.id]);
    if (!row || row.revoked_at || !secretMatches(parsed.secret, row.secret_hash)) return undefined;
    return toApiKey(row);
  }
}
