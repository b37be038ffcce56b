// What the SQLite and PostgreSQL API key stores share: the row shape and its mapping. Pure.

import type { ApiKey, ApiRole } from '../auth/apiKey';

export interface ApiKeyRow {
  id: string;
  name: string;
  role: ApiRole;
  client_id: string | null;
  secret_hash: Buffer;
  created_at: string;
  revoked_at: string | null;
}

export function toApiKey(r: ApiKeyRow): ApiKey {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    ...(r.client_id ? { client: r.client_id } : {}),
    createdAt: r.created_at,
    ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
  };
}
