// Where API keys live, behind an async interface like the other stores. Only secret hashes are stored;
// the credential text exists once, in `add`'s result.

import type { ApiKey, NewApiKey } from './apiKey';

export interface ApiKeyStore {
  add(key: NewApiKey, at: Date): Promise<{ key: ApiKey; credential: string }>;
  list(): Promise<ApiKey[]>;
  /** False only for an unknown id; revoking twice keeps the first time. */
  revoke(id: string, at: Date): Promise<boolean>;
  /** The live key a credential belongs to; undefined when malformed, unknown, wrong secret or revoked. */
  authenticate(credential: string): Promise<ApiKey | undefined>;
}
