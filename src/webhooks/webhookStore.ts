// Where webhook endpoints and the outbox live (one implementation for both databases, in src/store/).
// Outbox rows are written by the repositories of the state changes themselves, inside their transactions
// (src/store/webhookOutbox.ts); this port is what the API, the CLI and the delivery worker need.

import type { SealedBox } from '../vault/sealing';
import type { WebhookEventType } from './events';

export interface WebhookEndpoint {
  id: string;
  /** null: an admin endpoint (every client's events, and courier.suspended / alert.raised). */
  client: string | null;
  url: string;
  /** null: every event type. */
  events: WebhookEventType[] | null;
  createdAt: string;
  disabledAt?: string;
  disabledReason?: string;
  failingSince?: string;
  /** Sealed under the master key ring, context `webhook:<id>`: recoverable, as it must sign. */
  secret: SealedBox;
  /** The secret before the last rotation, signing beside the new one until `expiresAt`. */
  previous?: { secret: SealedBox; expiresAt: string };
}

export interface OutboxEntry {
  /** The event id the receiver sees (Waybill-Event-Id): one per event and endpoint. */
  id: string;
  endpointId: string;
  client: string | null;
  type: WebhookEventType;
  payload: string;
  createdAt: string;
  nextAttemptAt: string;
  attempts: number;
  deliveredAt?: string;
  givenUpAt?: string;
  lastError?: string;
  /** The service's seal over the row (outboxSeal); absent on a row it did not seal. */
  seal?: string;
}

export interface WebhookRepository {
  addEndpoint(e: WebhookEndpoint): Promise<void>;
  /** `client` undefined: every endpoint; null: admin endpoints; a string: that client's. Oldest first. */
  listEndpoints(client?: string | null): Promise<WebhookEndpoint[]>;
  getEndpoint(id: string): Promise<WebhookEndpoint | undefined>;
  /** Removes the endpoint and its undelivered events; false for an unknown id. */
  removeEndpoint(id: string): Promise<boolean>;
  /** The new secret signs from now on; the old one beside it until `previousExpiresAt`. */
  rotateSecret(id: string, secret: SealedBox, previous: SealedBox, previousExpiresAt: string): Promise<boolean>;
  getEvent(id: string): Promise<OutboxEntry | undefined>;
  /** Due again now (even if delivered or given up); a disabled endpoint is enabled again. */
  redeliver(id: string, at: string): Promise<boolean>;
  /**
   * Claims up to `limit` due events of enabled endpoints for `worker` until `until`, counting the attempt:
   * a conditional update per row, so two workers (instances) never claim the same attempt.
   */
  claimDue(worker: string, now: string, until: string, limit: number): Promise<OutboxEntry[]>;
  /** Ends a claimed attempt; false when the claim was lost (expired and taken over). */
  finishAttempt(id: string, worker: string, o: { delivered: true; at: string } | { delivered: false; at: string; error: string; nextAttemptAt: string; giveUp: boolean }): Promise<boolean>;
  /** The endpoint answered well: it is no longer failing. */
  endpointHealthy(endpointId: string): Promise<void>;
  /**
   * The endpoint failed: marks it failing since `at` (if not already), and disables it when it has been
   * failing since `disableIfSince` or earlier. True only for the call that disabled it.
   */
  endpointFailed(endpointId: string, at: string, disableIfSince: string, reason: string): Promise<boolean>;
  /** Master-key rotation: endpoints with a secret (current or previous) wrapped under another key than `keyId`. */
  sealedNotUnder(keyId: string, limit: number): Promise<WebhookEndpoint[]>;
  /**
   * Stores re-wrapped secrets, only if the endpoint still holds `was` (a rotation of its secret meanwhile
   * wins); false when it did not.
   */
  replaceSealed(id: string, was: WebhookEndpoint, secret: SealedBox, previous: SealedBox | undefined): Promise<boolean>;
  /** How many sealed secrets (current and previous) each master key wraps. */
  countSealedByKey(): Promise<Record<string, number>>;
  /** Deletes delivered and given-up outbox rows finished before `before` (at most `limit`); returns how many. */
  deleteFinishedBefore(before: string, limit: number): Promise<number>;
}
