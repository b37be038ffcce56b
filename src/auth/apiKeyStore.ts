// API keys: issue, list, revoke and check, over a repository that stores rows only. Only the hash of a
// key's secret is stored; the credential text exists once, in `add`'s result.

import { newCredential, newCredentialId, parseCredential, secretMatches } from './credentials';
import { NewApiKey, type ApiKey } from './apiKey';

/** An API key as stored: the key and the hash of its secret. */
export interface StoredApiKey extends ApiKey {
  secretHash: Buffer;
}

/** Where API keys live (one implementation for both databases, in src/store/). */
export interface ApiKeyRepository {
  insert(key: StoredApiKey): Promise<void>;
  list(): Promise<ApiKey[]>;
  findById(id: string): Promise<StoredApiKey | undefined>;
  /** Sets the revocation time unless one is set; false only for an unknown id. */
  revoke(id: string, at: string): Promise<boolean>;
}

export class ApiKeyStore {
  constructor(private readonly repo: ApiKeyRepository) {}

  async add(input: NewApiKey, at: Date): Promise<{ key: ApiKey; credential: string }> {
    const k = NewApiKey.parse(input);
    const id = newCredentialId();
    const { credential, secretHash } = newCredential(id, 'wbk');
    const key: ApiKey = { id, name: k.name, role: k.role, ...(k.client ? { client: k.client } : {}), ...(k.station ? { station: k.station } : {}), createdAt: at.toISOString() };
    await this.repo.insert({ ...key, secretHash });
    return { key, credential };
  }

  list(): Promise<ApiKey[]> {
    return this.repo.list();
  }

  /** False only for an unknown id; revoking twice keeps the first time. */
  revoke(id: string, at: Date): Promise<boolean> {
    return this.repo.revoke(id, at.toISOString());
  }

  /** The live key a credential belongs to; undefined when malformed, unknown, wrong secret or revoked. */
  async authenticate(credential: string): Promise<ApiKey | undefined> {
    const parsed = parseCredential(credential, 'wbk');
    if (!parsed) return undefined;
    const stored = await this.repo.findById(parsed.id);
    if (!stored || stored.revokedAt || !secretMatches(parsed.secret, stored.secretHash)) return undefined;
    const { secretHash: _hash, ...key } = stored;
    return key;
  }
}
