// Webhook endpoints over HTTP: admins manage every endpoint (and admin endpoints, without a client);
// warehouse keys only their own client's. The secret is in the answer of a create or a rotation only.

import express, { type Response } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../audit/auditLog';
import { actorOf, type Principal } from '../auth/apiKey';
import { WaybillError } from '../errors';
import type { NetworkPolicy } from '../printers/networkPolicy';
import { present } from '../validation/present';
import { issuesFromZod } from '../validation/zodIssues';
import type { KeyRing } from '../vault/sealing';
import { endpointUrlRefusal } from '../webhooks/send';
import { addEndpoint, endpointView, eventsIssue, NewWebhook, rotateSecret, WebhookView } from '../webhooks/webhooks';
import type { WebhookEndpoint, WebhookRepository } from '../webhooks/webhookStore';
import { requireRole, type AuthDeps } from './auth';
import { jsonBody, noBody } from './body';
import { noQuery } from './labelFormat';

export interface WebhookRouteDeps {
  auth: AuthDeps;
  limit: express.RequestHandler;
  repo: WebhookRepository;
  ring: KeyRing;
  policy: NetworkPolicy;
  audit: AuditLog;
  now: () => Date;
}

// The answers, built through these schemas (the API document is generated from them).
export const WebhookCreated = WebhookView.extend({ secret: z.string().describe('the signing secret (whsec_…), shown in this answer only') });
export const WebhookList = z.strictObject({ webhooks: z.array(WebhookView) });
export const SecretRotated = z.strictObject({
  id: z.string().uuid(),
  secret: z.string().describe('the new signing secret, shown in this answer only'),
  previousSecretExpiresAt: z.string().describe('the old secret also signs until then (two `v1=` entries)'),
});
export const RedeliveryScheduled = z.strictObject({ id: z.string().uuid().describe('the event id'), endpoint: z.string().uuid(), status: z.literal('scheduled') });

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const clientOf = (p: Principal): string | undefined => ('client' in p ? p.client : undefined);

/** The endpoint if this principal may manage it; unknown and foreign alike are 404. */
async function visible(deps: WebhookRouteDeps, p: Principal, id: string): Promise<WebhookEndpoint> {
  const e = ID.test(id) ? await deps.repo.getEndpoint(id) : undefined;
  if (!e || (p.role !== 'admin' && e.client !== clientOf(p))) throw new WaybillError('not_found', 'no such webhook endpoint');
  return e;
}

export function webhookRoutes(deps: WebhookRouteDeps): { endpoints: express.Router; events: express.Router } {
  const endpoints = express.Router();
  const events = express.Router();
  const roles = requireRole(deps.auth, 'warehouse', 'admin');
  const principal = (res: Response) => res.locals.principal as Principal;
  const audit = (p: Principal, action: 'webhook_add' | 'webhook_remove' | 'webhook_rotate' | 'webhook_redeliver', detail: Record<string, string | null>) =>
    // An admin endpoint has no client: recorded as "*".
    deps.audit.append({ at: deps.now().toISOString(), actor: actorOf(p), action, outcome: 'ok', detail: Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, v ?? '*'])) });

  endpoints.post('/', roles, deps.limit, jsonBody('16kb'), async (req, res) => {
    const p = principal(res);
    const input = NewWebhook.safeParse(req.body);
    if (!input.success) throw new WaybillError('invalid_input', 'invalid webhook endpoint', issuesFromZod(input.error));
    if (p.role !== 'admin' && input.data.client !== undefined && input.data.client !== clientOf(p))
      throw new WaybillError('invalid_input', 'invalid webhook endpoint', [{ path: ['client'], message: "may only be this key's own client" }]);
    const client = p.role === 'admin' ? (input.data.client ?? null) : clientOf(p)!;
    const issue = eventsIssue(client, input.data.events);
    if (issue) throw new WaybillError('invalid_input', 'invalid webhook endpoint', [{ path: ['events'], message: issue }]);
    const refusal = await endpointUrlRefusal(input.data.url, deps.policy);
    if (refusal) throw new WaybillError('invalid_input', 'the webhook network policy refuses this URL', [{ path: ['url'], message: refusal }]);
    const { endpoint, secret } = await addEndpoint(deps.repo, deps.ring, { client, url: input.data.url, events: input.data.events ?? null }, deps.now());
    await audit(p, 'webhook_add', { endpoint: endpoint.id, client });
    res.status(201).location(`/v1/webhooks/${endpoint.id}`).json(present(WebhookCreated, { ...endpointView(endpoint), secret }));
  });

  endpoints.get('/', roles, deps.limit, noQuery, async (_req, res) => {
    const p = principal(res);
    const list = await deps.repo.listEndpoints(p.role === 'admin' ? undefined : clientOf(p));
    res.json(present(WebhookList, { webhooks: list.map(endpointView) }));
  });

  endpoints.delete('/:id', roles, deps.limit, async (req, res) => {
    const p = principal(res);
    const e = await visible(deps, p, String(req.params.id));
    if (await deps.repo.removeEndpoint(e.id)) await audit(p, 'webhook_remove', { endpoint: e.id, client: e.client });
    res.status(204).end();
  });

  endpoints.post('/:id/rotate-secret', roles, deps.limit, noBody, async (req, res) => {
    const p = principal(res);
    const e = await visible(deps, p, String(req.params.id));
    const { secret, previousExpiresAt } = await rotateSecret(deps.repo, deps.ring, e, deps.now());
    await audit(p, 'webhook_rotate', { endpoint: e.id, client: e.client });
    res.json(present(SecretRotated, { id: e.id, secret, previousSecretExpiresAt: previousExpiresAt }));
  });

  events.post('/:eventId/redeliver', roles, deps.limit, noBody, async (req, res) => {
    const p = principal(res);
    const id = String(req.params.eventId);
    const event = ID.test(id) ? await deps.repo.getEvent(id) : undefined;
    const endpoint = event && (await deps.repo.getEndpoint(event.endpointId));
    if (!event || !endpoint || (p.role !== 'admin' && endpoint.client !== clientOf(p))) throw new WaybillError('not_found', 'no such webhook event');
    if (!(await deps.repo.redeliver(id, deps.now().toISOString()))) throw new WaybillError('in_progress', 'the event is being sent right now; try again in a moment', [], 5);
    await audit(p, 'webhook_redeliver', { event: id, endpoint: endpoint.id });
    res.status(202).json(present(RedeliveryScheduled, { id, endpoint: endpoint.id, status: 'scheduled' }));
  });

  return { endpoints, events };
}
