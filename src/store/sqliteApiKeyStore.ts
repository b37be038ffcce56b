// API keys in the embedded SQLite file: the secret's hash only, as for couriers.

import type Database from 'better-sqlite3';
import { NewApiKey, type ApiKey } from '../auth/apiKey';
import type { ApiKeyStore } from '../auth/apiKeyStore';
import { newCredentialId, newCredential, parseCredential, secretMatches } from '../couriers/credentials';
import { toApiKey, type ApiKeyRow } from './apiKeyRows';
import { statementCache } from './statementCache';


export class SqliteApiKeyStore implements ApiKeyStore {
  private readonly sql: (text: string) => Database.Statement;

  constructor(db: Database.Database) {
    this.sql = statementCache(db);
  }

  async add(input: NewApiKey, at: Date): Promise<{ key: ApiKey; credential: string }> {
    const k = NewApiKey.parse(input);
    const id = newCredentialId();
    const { credential, secretHash } = newCredential(id, 'wbk');
    const createdAt = at.toISOString();
    this.sql('INSERT INTO api_keys (id, name, role, client_id, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, k.name, k.role, k.client ?? null, secretHash, createdAt);
    return { key: { id, name: k.name, role: k.role, ...(k.client ? { client: k.client } : {}), createdAt }, credential };
  }

  async list(): Promise<ApiKey[]> {
    return (this.sql('SELECT * FROM api_keys ORDER BY created_at, id').all() as ApiKeyRow[]).map(toApiKey);
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    this.sql('UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?').run(at.toISOString(), id);
    return this.sql('SELECT 1 FROM api_keys WHERE id = ?').get(id) !== undefined;
  }

  async authenticate(credential: string): Promise<ApiKey | undefined> {
    const parsed = parseCredential(credential, 'wbk');
    if (!parsed) return undefined;
    const row = this.sql('SELECT * FROM api_keys WHERE id = ?').get(parsed.id) as ApiKeyRow | undefined;
    if (!row || row.revoked_at || !secretMatches(parsed.secret, row.secret_hash)) return undefined;
    return toApiKey(row);
  }
}
