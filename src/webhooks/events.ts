// The webhook event types and the payload every receiver gets: ids, numbers and states only, never
// personal data (no names, phones, addresses, tokens). `waybill.arrived` names the parcel station and the
// pickup code the client passes on to its buyer (the station never sees the buyer's number).

import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { CLI_CLIENT } from '../auth/apiKey';
import { ALERT_KINDS } from '../waybills/waybillStore';

export const WAYBILL_EVENT_TYPES = [
  'waybill.created',
  'waybill.printed',
  'waybill.picked_up',
  'waybill.delivered',
  'waybill.returned',
  'waybill.cancelled',
  'waybill.purged',
  'waybill.arrived',
  'relay.call_ended',
] as const;
/** Sent only to admin endpoints (registered without a client). */
export const ADMIN_EVENT_TYPES = ['courier.suspended', 'alert.raised'] as const;
export const WEBHOOK_EVENT_TYPES = [...WAYBILL_EVENT_TYPES, ...ADMIN_EVENT_TYPES] as const;
export const WebhookEventType = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** Lifecycle events that become webhook events (annotations and corrections do not). */
const LIFECYCLE: Record<string, WebhookEventType> = {
  picked_up: 'waybill.picked_up',
  delivered: 'waybill.delivered',
  returned: 'waybill.returned',
  cancelled: 'waybill.cancelled',
};
export const lifecycleEventType = (type: string): WebhookEventType | undefined => LIFECYCLE[type];

/** An event about to be written to the outbox; `client` null: an admin-only event. */
export interface OutboxEvent {
  type: WebhookEventType;
  createdAt: string;
  client: string | null;
  data: Record<string, string | number | boolean | null>;
}

/** Waybills printed before CLI prints had a client (`--client`, default "local") have none: their events go to that client's endpoints. */
export const LOCAL_CLIENT = CLI_CLIENT;

/** The JSON body a receiver gets: `{ id, type, createdAt, data }`. */
export function eventBody(id: string, e: OutboxEvent): string {
  return JSON.stringify({ id, type: e.type, createdAt: e.createdAt, data: e.data });
}

/**
 * An outbox row's seal: HMAC-SHA256, under a key held outside the database, over what the delivery signs
 * and where it goes. The delivery sends only rows whose seal holds, so a database writer cannot have the
 * service sign an event it did not write (or send a real one to another endpoint).
 */
export function outboxSeal(key: Buffer, row: { id: string; endpointId: string; type: string; payload: string }): string {
  return createHmac('sha256', key).update(`webhook-outbox\0${row.id}\0${row.endpointId}\0${row.type}\0${row.payload}`, 'utf8').digest('base64url');
}

/** Whether an endpoint (its client, null for admin; its filter, null for all) receives an event. */
export function endpointReceives(endpoint: { client: string | null; events: readonly string[] | null }, e: OutboxEvent): boolean {
  if (endpoint.events && !endpoint.events.includes(e.type)) return false;
  if (endpoint.client === null) return true;
  return e.client !== null && e.client === endpoint.client && !(ADMIN_EVENT_TYPES as readonly string[]).includes(e.type);
}

// ---- the payloads, per event type (the API document's `webhooks`; strict: nothing personal can slip in) ----

const WaybillFacts = {
  waybillId: z.string().uuid(),
  waybillNo: z.string(),
  orderId: z.string().describe("the client's order id"),
  client: z.string().describe(`the client; \`${LOCAL_CLIENT}\` for waybills printed from the command line without one`),
  carrier: z.string(),
  status: z.string().describe('the waybill state after the event (created, printed, picked_up, …)'),
};
const WaybillData = z.strictObject(WaybillFacts);
const PurgedData = z.strictObject({ ...WaybillFacts, purged: z.literal(true) });
const ArrivedData = z.strictObject({
  ...WaybillFacts,
  station: z.string().describe('the parcel station (驿站) holding the parcel'),
  pickupCode: z.string().describe('the pickup code (取件码, shelf-tier-sequence) to tell the buyer, with the station'),
});
const CallData = z.strictObject({
  ...WaybillFacts,
  bindingId: z.string().describe('the relay binding the call went through'),
  party: z.string().describe('whose relay number was called: recipient or sender'),
  startedAt: z.string().nullable(),
  answeredAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  releaseCause: z.string().nullable(),
});
const CourierSuspendedData = z.strictObject({ courierId: z.string(), reason: z.string().describe('why (ids and rules, never personal data)') });
const AlertData = z.strictObject({ kind: z.string().describe(`${ALERT_KINDS.join(', ')} (GET /v1/alerts lists them)`), courierId: z.string().nullable(), detail: z.string() });

const payload = <T extends WebhookEventType, D extends z.ZodType>(type: T, data: D) =>
  z.strictObject({
    id: z.string().uuid().describe('the event id, also in `Waybill-Event-Id`; the same on every retry: deduplicate on it'),
    type: z.literal(type),
    createdAt: z.string().describe('when the change happened (events are not ordered: use this)'),
    data,
  });

/** Each event type's body, as `eventBody` writes it. */
export const WEBHOOK_PAYLOADS = {
  'waybill.created': payload('waybill.created', WaybillData),
  'waybill.printed': payload('waybill.printed', WaybillData),
  'waybill.picked_up': payload('waybill.picked_up', WaybillData),
  'waybill.delivered': payload('waybill.delivered', WaybillData),
  'waybill.returned': payload('waybill.returned', WaybillData),
  'waybill.cancelled': payload('waybill.cancelled', WaybillData),
  'waybill.purged': payload('waybill.purged', PurgedData),
  'waybill.arrived': payload('waybill.arrived', ArrivedData),
  'relay.call_ended': payload('relay.call_ended', CallData),
  'courier.suspended': payload('courier.suspended', CourierSuspendedData),
  'alert.raised': payload('alert.raised', AlertData),
} satisfies Record<WebhookEventType, z.ZodType>;
