// What the SQLite and PostgreSQL idempotency stores share: the row and what an existing row answers.

import type { Claim } from '../http/idempotency';
import type { SealedBox } from '../vault/sealing';

export interface IdempotencyRow {
  request_hash: string;
  created_at: string;
  completed_at: string | null;
  status: number | null;
  content_type: string | null;
  location: string | null;
  key_id: string | null;
  wrapped_key: Buffer | null;
  body: Buffer | null;
}

/** A key already claimed for another request, or its stored answer; undefined while the first request runs. */
export function settledClaim(row: IdempotencyRow, requestHash: string): Claim | undefined {
  if (row.request_hash !== requestHash) return { state: 'mismatch' };
  if (row.completed_at && row.key_id && row.wrapped_key && row.body) {
    const sealed: SealedBox = { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.body };
    return { state: 'done', response: { status: row.status!, contentType: row.content_type!, ...(row.location ? { location: row.location } : {}), sealed } };
  }
  return undefined;
}
