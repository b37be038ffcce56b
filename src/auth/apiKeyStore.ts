// API keys: issue, list, revoke and check, over a repository that stores rows only. Only the hash of a
// key's secret is stored; the credential text exists once, in `add`'s result.

import { bindingHolds, checkRows, credentialBinding, newCredential, newCredentialId, parseCredential, secretMatches, type CredentialTampered, type RowCheck } from './credentials';
import { NewApiKey, type ApiKey } from './apiKey';

/** An API key as stored: the key, the hash of its secret and the row's binding (null once revoked). */
export interface StoredApiKey extends ApiKey {
  secretHash: Buffer;
  binding: Buffer | null;
}

/** Where API keys live (one implementation for both databases, in src/store/). */
export interface ApiKeyRepository {
  insert(key: StoredApiKey): Promise<void>;
  list(): Promise<ApiKey[]>;
  findById(id: string): Promise<StoredApiKey | undefined>;
  /** Sets the revocation time unless one is set, and drops the binding; false only for an unknown id. */
  revoke(id: string, at: string): Promise<boolean>;
  /** Keys not revoked, with their bindings (none yet for those an earlier release made). */
  live(): Promise<StoredApiKey[]>;
  /** Sets the binding of a row that has none. */
  bind(id: string, binding: Buffer): Promise<void>;
}

export class ApiKeyStore {
  /** `key`: keys the rows' bindings; `tampered`: told of a credential whose row no longer matches its binding. */
  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly key?: Buffer,
    private readonly tampered: CredentialTampered = async () => {},
  ) {}

  /** What binds a key's row: its role, client and station, which say what it may do. */
  private binding(k: Omit<StoredApiKey, 'binding'>): Buffer {
    return credentialBinding(this.key, 'wbk', k.id, [k.role, k.client ?? null, k.station ?? null], k.secretHash);
  }

  async add(input: NewApiKey, at: Date): Promise<{ key: ApiKey; credential: string }> {
    const k = NewApiKey.parse(input);
    const id = newCredentialId();
    const { credential, secretHash } = newCredential(id, 'wbk');
    const key: ApiKey = { id, name: k.name, role: k.role, ...(k.client ? { client: k.client } : {}), ...(k.station ? { station: k.station } : {}), createdAt: at.toISOString() };
    await this.repo.insert({ ...key, secretHash, binding: this.binding({ ...key, secretHash }) });
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
    if (!bindingHolds(stored.binding, this.binding(stored))) {
      await this.tampered('api key', stored.id);
      return undefined;
    }
    const { secretHash: _hash, binding: _binding, ...key } = stored;
    return key;
  }

  /** Binds the keys an earlier release made (once, on the first open with keys); how many. */
  async bindUnbound(): Promise<number> {
    const keys = (await this.repo.live()).filter((k) => !k.binding);
    for (const k of keys) await this.repo.bind(k.id, this.binding(k));
    return keys.length;
  }

  /** Every key not revoked whose row was changed outside the service (`waybill audit rows`). */
  async checkRows(): Promise<RowCheck> {
    return checkRows(await this.repo.live(), (k) => bindingHolds(k.binding, this.binding(k)));
  }
}
