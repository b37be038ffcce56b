// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): a client retrying a create gets the first
// answer again, byte for byte, instead of a second waybill. The first request claims the key; identical
// requests arriving meanwhile wait for its answer; the same key with another body is refused, and from then
// on the key replays nothing (see claim). Answers are kept sealed (they hold the QR token) and expire after
// a day.

import { createHmac } from 'node:crypto';
import { WaybillError } from '../errors';
import type { KeyRing } from '../vault/sealing';
import { seal, unseal } from '../vault/sealing';
import { inChunks } from '../eventLoop';
import type { KeptAnswer } from '../waybills/waybillStore';

export interface StoredResponse {
  status: number;
  contentType: string;
  location?: string;
  /** What the label could not show as given (Waybill-Warnings): nothing personal, field names and counts. */
  warnings?: string[];
  body: Buffer;
}

/** A kept answer: what the first request answered, its body sealed (it holds the QR token). */
export type KeptResponse = KeptAnswer['response'];

export type Claim = { state: 'claimed' } | { state: 'pending' } | { state: 'mismatch' } | { state: 'done'; response: KeptResponse };

/** A key as stored: the request that claimed it, when, and once that request completed, its answer. */
export interface KeptRequest {
  requestHash: string;
  createdAt: string;
  /** Present once completed. */
  response?: KeptResponse;
}

/** Where idempotency keys live (one implementation for both databases, in src/store/); keyed by (client, key). */
export interface IdempotencyRepository {
  /** Inserts a pending claim unless the key is there already; true when inserted. */
  insertPending(client: string, key: string, requestHash: string, at: string): Promise<boolean>;
  find(client: string, key: string): Promise<KeptRequest | undefined>;
  /** Moves a claim still pending and created before `staleBefore` to `at`; true when it did (one caller wins). */
  takeOver(client: string, key: string, at: string, staleBefore: string): Promise<boolean>;
  complete(answer: KeptAnswer): Promise<void>;
  /** Deletes the key unless completed. */
  deletePending(client: string, key: string): Promise<void>;
  /** Makes the key match no request again and drops its kept answer. */
  burn(client: string, key: string): Promise<void>;
  /** Deletes at most `limit` of the keys created before `before`; returns how many. */
  deleteCreatedBefore(before: string, limit: number): Promise<number>;
}

/**
 * Claims and answers of idempotency keys. Every step is one conditional statement, so exactly one
 * request (in any process or instance sharing the database) claims a key or takes over a stale claim.
 */
export class IdempotencyStore {
  constructor(private readonly repo: IdempotencyRepository) {}

  /**
   * Claims `key` for a request with this hash. A pending claim older than `staleBefore` (its process
   * died) is taken over, so a crash never blocks a key for a whole day.
   */
  async claim(client: string, key: string, requestHash: string, at: Date, staleBefore: Date): Promise<Claim> {
    for (;;) {
      if (await this.repo.insertPending(client, key, requestHash, at.toISOString())) return { state: 'claimed' };
      const kept = await this.repo.find(client, key);
      if (!kept) continue; // abandoned (or expired) between the two statements: claim afresh
      if (kept.requestHash !== requestHash) {
        // One guess per key: otherwise a key holder could try an order's variants (which phone was it?)
        // until one replays the first answer, tokens and all.
        await this.repo.burn(client, key);
        return { state: 'mismatch' };
      }
      if (kept.response) return { state: 'done', response: kept.response };
      if (kept.createdAt < staleBefore.toISOString() && (await this.repo.takeOver(client, key, at.toISOString(), staleBefore.toISOString())))
        return { state: 'claimed' };
      return { state: 'pending' };
    }
  }

  complete(answer: KeptAnswer): Promise<void> {
    return this.repo.complete(answer);
  }

  /** Drops a pending claim whose request failed, so a retry runs it again. */
  abandon(client: string, key: string): Promise<void> {
    return this.repo.deletePending(client, key);
  }

  /** Forgets keys created before `before`; returns how many. */
  expire(before: Date, chunk?: number): Promise<number> {
    const beforeIso = before.toISOString();
    return inChunks((limit) => this.repo.deleteCreatedBefore(beforeIso, limit), chunk);
  }
}

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{8,255}$/;
const STALE_MS = 60_000;
const WAIT_STEP_MS = 25;

export interface IdempotencyDeps {
  store: IdempotencyStore;
  ring: KeyRing;
  /** Keys the stored request hashes (held outside the database). */
  hashKey: Buffer;
  now: () => Date;
  /** How long an identical request waits for the first one before it is told to retry (409). */
  waitMs: number;
}

/**
 * What is kept of a request for a day: an HMAC under a key outside the database, not a plain hash, which
 * someone holding the table could test guesses against (the rest of an order known: which phone was it?).
 */
export function requestHash(key: Buffer, parts: unknown): string {
  return createHmac('sha256', key).update(JSON.stringify(parts)).digest('hex');
}

/**
 * Runs `produce` once per (client, key, request): the first caller's answer is stored and every later
 * identical call gets it back, marked `replayed`. A failure (thrown) is not stored: the key is released.
 * `produce` may hand its answer to `keep` and save the result with its own records (one transaction), so
 * that a process killed between its save and the answer's leaves no claim whose retry finds the order
 * taken; an answer it did not keep is stored once it returns.
 */
export async function once(
  deps: IdempotencyDeps,
  scope: { client: string; key: string; hash: string },
  produce: (keep: (response: StoredResponse) => KeptAnswer) => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  const context = `idempotency:${scope.client}:${scope.key}`;
  const deadline = Date.now() + deps.waitMs;
  for (;;) {
    const now = deps.now();
    const claim = await deps.store.claim(scope.client, scope.key, scope.hash, now, new Date(now.getTime() - STALE_MS));
    if (claim.state === 'mismatch')
      throw new WaybillError('idempotency_mismatch', 'this Idempotency-Key was used with a different request', [
        { path: ['Idempotency-Key'], message: 'already used with another body, format or template: it no longer replays its answer (find the waybill by its order id)' },
      ]);
    if (claim.state === 'done') {
      const { sealed, ...rest } = claim.response;
      return { ...rest, body: unseal(sealed, deps.ring, context), replayed: true };
    }
    if (claim.state === 'claimed') {
      let kept = false;
      const keep = ({ body, ...rest }: StoredResponse): KeptAnswer => {
        kept = true;
        return { client: scope.client, key: scope.key, at: deps.now().toISOString(), response: { ...rest, sealed: seal(body, deps.ring, context) } };
      };
      let response: StoredResponse;
      try {
        response = await produce(keep);
      } catch (e) {
        await deps.store.abandon(scope.client, scope.key);
        throw e;
      }
      if (!kept) await deps.store.complete(keep(response));
      return { ...response, replayed: false };
    }
    if (Date.now() >= deadline) throw new WaybillError('in_progress', 'a request with this Idempotency-Key is still running; retry shortly');
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  }
}
