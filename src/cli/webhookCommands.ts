// `waybill webhooks add|list|remove|rotate-secret|redeliver`: webhook endpoints from the shell. The
// secret of add and rotate-secret is the command's only stdout (shown once); talk goes to stderr.

import { WaybillError } from '../errors';
import { issuesFromZod } from '../validation/zodIssues';
import { WEBHOOK_EVENT_TYPES } from '../webhooks/events';
import { endpointUrlRefusal } from '../webhooks/send';
import { addEndpoint, endpointView, eventsIssue, NewWebhook, rotateSecret } from '../webhooks/webhooks';
import { webhookNetworkPolicy, type Services } from '../wiring';
import { cliOperator } from './apiKeyCommands';
import { parseOptions, EXIT, asIo, printList, UsageError, type Output } from './io';

export const WEBHOOKS_USAGE = `usage:
  waybill webhooks add (--client ID | --admin) --url URL [--events ${WEBHOOK_EVENT_TYPES.slice(0, 2).join(',')},…]
  waybill webhooks list [--json] | webhooks remove ID | webhooks rotate-secret ID | webhooks redeliver EVENT`;

export async function webhookCommand(args: string[], s: Services, output: Output): Promise<number> {
  const io = asIo(output);
  const [sub, ...rest] = args;
  const now = new Date();
  const audit = (action: 'webhook_add' | 'webhook_remove' | 'webhook_rotate' | 'webhook_redeliver', detail: Record<string, string>) =>
    s.audit.append({ at: now.toISOString(), actor: cliOperator(), action, outcome: 'ok', detail });

  if (sub === 'add') {
    const { values } = parseOptions({ args: rest, options: { client: { type: 'string' }, admin: { type: 'boolean' }, url: { type: 'string' }, events: { type: 'string' } } });
    if (!values.client === !values.admin) throw new UsageError('give --client ID (that client\'s events) or --admin (every client, and admin events)');
    const input = NewWebhook.safeParse({
      url: values.url,
      ...(values.events ? { events: values.events.split(',').map((e) => e.trim()) } : {}),
      ...(values.client ? { client: values.client } : {}),
    });
    if (!input.success) throw new WaybillError('invalid_input', 'invalid webhook endpoint', issuesFromZod(input.error));
    const client = input.data.client ?? null;
    const issue = eventsIssue(client, input.data.events);
    if (issue) throw new WaybillError('invalid_input', 'invalid webhook endpoint', [{ path: ['events'], message: issue }]);
    const refusal = await endpointUrlRefusal(input.data.url, webhookNetworkPolicy(s.config));
    if (refusal) throw new WaybillError('invalid_input', 'the webhook network policy refuses this URL', [{ path: ['url'], message: refusal }]);
    const { endpoint, secret } = await addEndpoint(s.webhooks, s.keys.ring, { client, url: input.data.url, events: input.data.events ?? null }, now);
    await audit('webhook_add', { endpoint: endpoint.id, client: client ?? '*' });
    io.out(secret);
    io.err(`added webhook ${endpoint.id} for ${client ? `client ${client}` : 'admins (every client)'}; the secret above is shown once`);
    return EXIT.ok;
  }
  if (sub === 'list') {
    const { values } = parseOptions({ args: rest, options: { json: { type: 'boolean' } } });
    const rows = (await s.webhooks.listEndpoints()).map(endpointView).map((e) => ({
      id: e.id,
      client: e.client ?? '*',
      url: e.url,
      events: e.events ? e.events.join(',') : '*',
      status: e.status,
      created: e.createdAt,
    }));
    printList(io, rows, ['id', 'client', 'url', 'events', 'status', 'created'], values.json ?? false);
    if (!rows.length) io.err('no webhook endpoints yet (waybill webhooks add …)');
    return EXIT.ok;
  }
  if (sub === 'remove' && rest.length === 1) {
    const e = await s.webhooks.getEndpoint(rest[0]!);
    if (!e || !(await s.webhooks.removeEndpoint(e.id))) {
      io.err(`waybill webhooks: unknown webhook endpoint ${rest[0]}`);
      return EXIT.failure;
    }
    await audit('webhook_remove', { endpoint: e.id, client: e.client ?? '*' });
    io.err(`removed webhook ${e.id} and its undelivered events`);
    return EXIT.ok;
  }
  if (sub === 'rotate-secret' && rest.length === 1) {
    const e = await s.webhooks.getEndpoint(rest[0]!);
    if (!e) {
      io.err(`waybill webhooks: unknown webhook endpoint ${rest[0]}`);
      return EXIT.failure;
    }
    const { secret, previousExpiresAt } = await rotateSecret(s.webhooks, s.keys.ring, e, now);
    await audit('webhook_rotate', { endpoint: e.id, client: e.client ?? '*' });
    io.out(secret);
    io.err(`rotated the secret of webhook ${e.id}; the old one also signs until ${previousExpiresAt}`);
    return EXIT.ok;
  }
  if (sub === 'redeliver' && rest.length === 1) {
    const event = await s.webhooks.getEvent(rest[0]!);
    if (!event) {
      io.err(`waybill webhooks: unknown webhook event ${rest[0]}`);
      return EXIT.failure;
    }
    if (!(await s.webhooks.redeliver(event.id, now.toISOString()))) throw new WaybillError('in_progress', 'the event is being sent right now; try again in a moment');
    await audit('webhook_redeliver', { event: event.id, endpoint: event.endpointId });
    io.err(`event ${event.id} is due again; a running service sends it within a few seconds`);
    return EXIT.ok;
  }
  io.err(WEBHOOKS_USAGE);
  return EXIT.usage;
}
