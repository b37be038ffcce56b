// Webhook use cases: register, rotate and remove endpoints, redeliver an event, and one delivery pass of
// the outbox. The sending itself (HTTP with the network policy) is injected: an edge (send.ts).

import { randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ClientId } from '../auth/apiKey';
import { WaybillError } from '../errors';
import { rewrap, seal, unseal, type KeyRing } from '../vault/sealing';
import { DAY_MS } from '../time';
import { ADMIN_EVENT_TYPES, outboxSeal, WEBHOOK_PAYLOADS, WebhookEventType } from './events';
import { newSecret, signatureHeader } from './signature';
import type { OutboxEntry, WebhookEndpoint, WebhookRepository } from './webhookStore';
import { inChunks } from '../eventLoop';
import { refusingControls } from '../validation/printableText';

/** How long the previous secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = DAY_MS;

const context = (id: string) => `webhook:${id}`;

export function openSecret(e: WebhookEndpoint, ring: KeyRing): string {
  return unseal(e.secret, ring, context(e.id)).toString('utf8');
}

/** The secrets that sign now: the current one, and the previous one until its rotation overlap ends. */
export function signingSecrets(e: WebhookEndpoint, ring: KeyRing, now: Date): string[] {
  const secrets = [openSecret(e, ring)];
  if (e.previous && e.previous.expiresAt > now.toISOString()) secrets.push(unseal(e.previous.secret, ring, context(e.id)).toString('utf8'));
  return secrets;
}

export async function addEndpoint(
  repo: WebhookRepository,
  ring: KeyRing,
  input: { client: string | null; url: string; events: WebhookEventType[] | null },
  now: Date,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const id = randomUUID();
  const secret = newSecret();
  const endpoint: WebhookEndpoint = {
    id,
    client: input.client,
    url: input.url,
    events: input.events,
    createdAt: now.toISOString(),
    secret: seal(Buffer.from(secret, 'utf8'), ring, context(id)),
  };
  await repo.addEndpoint(endpoint);
  return { endpoint, secret };
}

export async function rotateSecret(repo: WebhookRepository, ring: KeyRing, endpoint: WebhookEndpoint, now: Date): Promise<{ secret: string; previousExpiresAt: string }> {
  const secret = newSecret();
  const previousExpiresAt = new Date(now.getTime() + ROTATION_OVERLAP_MS).toISOString();
  // The old secret is re-sealed (a fresh data key) rather than copied, so the two boxes never share one.
  const old = seal(Buffer.from(openSecret(endpoint, ring), 'utf8'), ring, context(endpoint.id));
  if (!(await repo.rotateSecret(endpoint.id, seal(Buffer.from(secret, 'utf8'), ring, context(endpoint.id)), old, previousExpiresAt)))
    throw new WaybillError('not_found', 'no such webhook endpoint');
  return { secret, previousExpiresAt };
}

/**
 * The endpoints' sealed secrets in a master-key rotation (`waybill keys rotate` / `keys retire`): their data
 * keys are re-wrapped under the active key, the secrets themselves never opened.
 */
export function sealedWebhookSecrets(repo: WebhookRepository) {
  return {
    what: 'webhook secret(s)',
    async rewrap(ring: KeyRing, batch: number): Promise<number> {
      let done = 0;
      for (;;) {
        const pending = await repo.sealedNotUnder(ring.activeKeyId, batch);
        let changed = 0;
        for (const e of pending) {
          const under = (box: typeof e.secret) => (box.keyId === ring.activeKeyId ? box : rewrap(box, ring, context(e.id)));
          // A secret rotated meanwhile is sealed under the active key already: skipped, not overwritten.
          if (await repo.replaceSealed(e.id, e, under(e.secret), e.previous && under(e.previous.secret))) changed++;
        }
        done += changed;
        if (pending.length < batch || changed === 0) return done;
      }
    },
    countByKey: () => repo.countSealedByKey(),
  };
}

/**
 * The outbox clean-up (the purge sweep): delivered and given-up events are deleted `keepDays` after they
 * finished (kept that long for a redelivery); pending ones, and those of disabled endpoints, stay.
 */
export function deleteFinishedEvents(repo: WebhookRepository, keepDays: number, now: Date, chunk?: number): Promise<number> {
  const before = new Date(now.getTime() - keepDays * DAY_MS).toISOString();
  return inChunks((limit) => repo.deleteFinishedBefore(before, limit), chunk);
}

/** Exponential backoff with jitter: base × 2^(attempt-1), capped, then a random 50–100 % of it. */
export function retryDelayMs(attempts: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const full = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  return Math.round(full / 2 + (random() * full) / 2);
}

export interface SendOutcome {
  ok: boolean;
  /** Short, without personal data or the URL: a status code or a transport failure kind. */
  error?: string;
}

/** Sends one request: the edge (send.ts) checks the network policy and connects to the checked address. */
export type WebhookSend = (url: string, headers: Record<string, string>, body: string) => Promise<SendOutcome>;

export interface WebhookDeliveryDeps {
  repo: WebhookRepository;
  ring: KeyRing;
  send: WebhookSend;
  now: () => Date;
  /** This process, as the claim owner (host:pid:random). */
  worker: string;
  retryHours: number;
  backoffMs: number;
  maxBackoffMs: number;
  /** How long a claim holds: longer than a send may take (its timeout), so it is never taken over mid-send. */
  claimMs: number;
  batch: number;
  /** The key the store sealed outbox rows with (Keys.tokenKey): a row whose seal does not hold is not sent. */
  sealKey: Buffer;
  /** An endpoint was disabled after failing for retryHours, or events were refused: record an alert. */
  alert(kind: 'webhook_disabled' | 'webhook_event_refused', detail: string, at: string): Promise<void>;
  random?: () => number;
}

/** One pass: claims the due events and sends them; returns how many attempts were made. */
export async function deliverDue(deps: WebhookDeliveryDeps): Promise<number> {
  const now = deps.now();
  const claimed = await deps.repo.claimDue(deps.worker, now.toISOString(), new Date(now.getTime() + deps.claimMs).toISOString(), deps.batch);
  const endpoints = new Map<string, Promise<WebhookEndpoint | undefined>>();
  const refused: string[] = [];
  await Promise.all(
    claimed.map(async (entry) => {
      if (!writtenByService(entry, deps.sealKey)) {
        refused.push(entry.id);
        await deps.repo.finishAttempt(entry.id, deps.worker, { delivered: false, at: now.toISOString(), error: REFUSED, nextAttemptAt: now.toISOString(), giveUp: true });
        return;
      }
      let endpoint = endpoints.get(entry.endpointId);
      if (!endpoint) endpoints.set(entry.endpointId, (endpoint = deps.repo.getEndpoint(entry.endpointId)));
      await attempt(deps, entry, await endpoint);
    }),
  );
  if (refused.length) {
    const named = refused.slice(0, 3).join(', ') + (refused.length > 3 ? ` and ${refused.length - 3} more` : '');
    await deps.alert('webhook_event_refused', `webhook event(s) ${named} in the outbox were not written by the service (no seal of its own) and were not sent`, now.toISOString());
  }
  return claimed.length;
}

const REFUSED = 'refused: not written by the service';

/**
 * Whether the service wrote this row as it stands: its seal holds, and its payload is an event body of its
 * type (ids and states only) carrying its own id. Anything else was inserted or edited in the database.
 */
export function writtenByService(entry: OutboxEntry, sealKey: Buffer): boolean {
  if (!entry.seal) return false;
  const expected = Buffer.from(outboxSeal(sealKey, entry));
  const given = Buffer.from(entry.seal);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
  let body: unknown;
  try {
    body = JSON.parse(entry.payload);
  } catch {
    return false;
  }
  const parsed = WEBHOOK_PAYLOADS[entry.type]?.safeParse(body);
  return parsed?.success === true && parsed.data.id === entry.id;
}

async function attempt(deps: WebhookDeliveryDeps, entry: OutboxEntry, endpoint: WebhookEndpoint | undefined): Promise<void> {
  let outcome: SendOutcome;
  if (!endpoint) outcome = { ok: false, error: 'endpoint removed' };
  else {
    const t = Math.floor(deps.now().getTime() / 1000);
    const headers = {
      'Content-Type': 'application/json',
      'Waybill-Event-Id': entry.id,
      'Waybill-Signature': signatureHeader(signingSecrets(endpoint, deps.ring, deps.now()), t, entry.payload),
    };
    try {
      outcome = await deps.send(endpoint.url, headers, entry.payload);
    } catch {
      outcome = { ok: false, error: 'send failed' };
    }
  }
  const at = deps.now();
  if (outcome.ok) {
    await deps.repo.finishAttempt(entry.id, deps.worker, { delivered: true, at: at.toISOString() });
    await deps.repo.endpointHealthy(entry.endpointId);
    return;
  }
  const retryMs = deps.retryHours * 3_600_000;
  const cutoff = new Date(at.getTime() - retryMs).toISOString();
  const disabled = endpoint ? await deps.repo.endpointFailed(entry.endpointId, at.toISOString(), cutoff, `failing for ${deps.retryHours} h`) : false;
  // An event older than the retry window on an endpoint that still works otherwise is given up (it can be
  // redelivered); on a disabled endpoint it stays pending for when the endpoint is redelivered to.
  const giveUp = !endpoint || (!disabled && entry.createdAt <= cutoff);
  const delay = retryDelayMs(entry.attempts, deps.backoffMs, deps.maxBackoffMs, deps.random);
  await deps.repo.finishAttempt(entry.id, deps.worker, {
    delivered: false,
    at: at.toISOString(),
    error: (outcome.error ?? 'failed').slice(0, 120),
    nextAttemptAt: new Date(at.getTime() + delay).toISOString(),
    giveUp,
  });
  if (disabled && endpoint)
    await deps.alert('webhook_disabled', `webhook endpoint ${endpoint.id}${endpoint.client ? ` of client ${endpoint.client}` : ''} failed for ${deps.retryHours} h and was disabled; its events are kept (redeliver one to enable it again)`, at.toISOString());
}

/** A registration: the URL (http or https, no credentials in it) and an optional event filter. */
export const NewWebhook = z.strictObject({
  // No control, bidi or lone surrogate: a NUL is refused by PostgreSQL, a CR LF silently dropped by the URL parser.
  url: refusingControls(z.string().max(2000))
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http or https URL')
    // zod runs this after a failed url() too: a URL that does not parse is that check's issue alone.
    .refine((u) => !URL.canParse(u) || !(new URL(u).username || new URL(u).password), 'must not carry a user name or password')
    .describe('where events are POSTed'),
  events: z.array(WebhookEventType).min(1).optional().describe('which event types to send; every type by default'),
  client: ClientId.optional().describe('admins: the client whose events go here; without it an admin endpoint (every client, plus courier.suspended and alert.raised)'),
});
export type NewWebhook = z.infer<typeof NewWebhook>;

/** Admin-only event types in a client endpoint's filter: the issue, or undefined. */
export function eventsIssue(client: string | null, events: readonly WebhookEventType[] | undefined): string | undefined {
  if (client === null || !events) return undefined;
  const admin = events.filter((e) => (ADMIN_EVENT_TYPES as readonly string[]).includes(e));
  return admin.length ? `${admin.join(', ')} go to admin endpoints only (registered without a client)` : undefined;
}

/** What the API and the CLI show of an endpoint: never its secret (strict, so a secret cannot slip in). */
export const WebhookView = z.strictObject({
  id: z.string().uuid(),
  client: z.string().nullable().describe('the client whose events go here; null: an admin endpoint (every client, plus admin events)'),
  url: z.string().describe('where events are POSTed'),
  events: z.array(WebhookEventType).nullable().describe('the event types sent; null: every type'),
  createdAt: z.string(),
  status: z.enum(['active', 'failing', 'disabled']).describe('failing: the last attempt failed; disabled: failing for WAYBILL_WEBHOOK_RETRY_HOURS (redeliver an event to enable it again)'),
  disabledAt: z.string().optional(),
  disabledReason: z.string().nullable().optional(),
  failingSince: z.string().optional(),
  previousSecretExpiresAt: z.string().optional().describe('after a rotation: until when the previous secret also signs'),
});
export type WebhookView = z.input<typeof WebhookView>;

export function endpointView(e: WebhookEndpoint): WebhookView {
  return {
    id: e.id,
    client: e.client,
    url: e.url,
    events: e.events,
    createdAt: e.createdAt,
    status: e.disabledAt ? ('disabled' as const) : e.failingSince ? ('failing' as const) : ('active' as const),
    ...(e.disabledAt ? { disabledAt: e.disabledAt, disabledReason: e.disabledReason ?? null } : {}),
    ...(e.failingSince ? { failingSince: e.failingSince } : {}),
    ...(e.previous ? { previousSecretExpiresAt: e.previous.expiresAt } : {}),
  };
}
