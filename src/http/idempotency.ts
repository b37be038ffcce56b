// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): a client retrying a create gets the first
// answer again, byte for byte, instead of a second waybill. The first request claims the key; identical
// requests arriving meanwhile wait for its answer; the same key with another body is refused. Answers are
// kept sealed (they hold the QR token) and expire after a day.

import { createHash } from 'node:crypto';
import { WaybillError } from '../errors';
import type { KeyRing, SealedBox } from '../vault/sealing';
import { seal, unseal } from '../vault/sealing';

export interface StoredResponse {
  status: number;
  contentType: string;
  location?: string;
  body: Buffer;
}

export type Claim =
  | { state: 'claimed' }
  | { state: 'pending' }
  | { state: 'mismatch' }
  | { state: 'done'; response: Omit<StoredResponse, 'body'> & { sealed: SealedBox } };

export interface IdempotencyStore {
  /**
   * Claims `key` for a request with this hash. A pending claim older than `staleBefore` (its process
   * died) is taken over, so a crash never blocks a key for a whole day.
   */
  claim(client: string, key: string, requestHash: string, at: Date, staleBefore: Date): Promise<Claim>;
  complete(client: string, key: string, response: Omit<StoredResponse, 'body'> & { sealed: SealedBox }, at: Date): Promise<void>;
  /** Drops a pending claim whose request failed, so a retry runs it again. */
  abandon(client: string, key: string): Promise<void>;
  /** Forgets keys created before `before`; returns how many. */
  expire(before: Date): Promise<number>;
}

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{8,255}$/;
const STALE_MS = 60_000;
const WAIT_STEP_MS = 25;

export interface IdempotencyDeps {
  store: IdempotencyStore;
  ring: KeyRing;
  now: () => Date;
  /** How long an identical request waits for the first one before it is told to retry (409). */
  waitMs: number;
}

export function requestHash(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * Runs `produce` once per (client, key, request): the first caller's answer is stored and every later
 * identical call gets it back, marked `replayed`. A failure (thrown) is not stored: the key is released.
 */
export async function once(
  deps: IdempotencyDeps,
  scope: { client: string; key: string; hash: string },
  produce: () => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  const context = `idempotency:${scope.client}:${scope.key}`;
  const deadline = Date.now() + deps.waitMs;
  for (;;) {
    const now = deps.now();
    const claim = await deps.store.claim(scope.client, scope.key, scope.hash, now, new Date(now.getTime() - STALE_MS));
    if (claim.state === 'mismatch')
      throw new WaybillError('idempotency_mismatch', 'this Idempotency-Key was used with a different request', [
        { path: ['Idempotency-Key'], message: 'already used with another body, format or template' },
      ]);
    if (claim.state === 'done') {
      const { sealed, ...rest } = claim.response;
      return { ...rest, body: unseal(sealed, deps.ring, context), replayed: true };
    }
    if (claim.state === 'claimed') {
      let response: StoredResponse;
      try {
        response = await produce();
      } catch (e) {
        await deps.store.abandon(scope.client, scope.key);
        throw e;
      }
      const { body, ...rest } = response;
      await deps.store.complete(scope.client, scope.key, { ...rest, sealed: seal(body, deps.ring, context) }, deps.now());
      return { ...response, replayed: false };
    }
    if (Date.now() >= deadline) throw new WaybillError('in_progress', 'a request with this Idempotency-Key is still running; retry shortly');
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  }
}
