// The outbox step: written inside the transaction of a state change (a print's save, a lifecycle event, a
// purge, a call receipt, an alert), it fans the event out to the matching webhook endpoints, one outbox
// row each, so an event is recorded exactly when its change is. With no endpoint it costs one indexed
// SELECT. Events go to enabled endpoints only; a disabled endpoint keeps what it had.

import { sql, type Kysely } from 'kysely';
import { recordId } from '../ids';
import { endpointReceives, eventBody, LOCAL_CLIENT, outboxSeal, type OutboxEvent, type WebhookEventType } from '../webhooks/events';
import { step, type Result, type Step } from './database';
import { prepared } from './prepared';
import type { Schema } from './schema';

type Steps<T> = Generator<Step, T, Result<unknown>>;
interface EndpointRow {
  id: string;
  client_id: string | null;
  events: string | null;
}

/** Rows per INSERT: 9 values a row, well under both databases' parameter limits. */
const CHUNK = 500;

const clientEndpoints = prepared((db, a: { client: string }) =>
  db
    .selectFrom('webhook_endpoints')
    .select(['id', 'client_id', 'events'])
    .where('disabled_at', 'is', null)
    .where((eb) => eb.or([eb('client_id', 'is', null), eb('client_id', '=', a.client)])),
);
const adminEndpoints = prepared((db, _a: Record<string, never>) =>
  db.selectFrom('webhook_endpoints').select(['id', 'client_id', 'events']).where('disabled_at', 'is', null).where('client_id', 'is', null),
);
/** The endpoints a waybill's events go to, with the waybill's facts: no rows when nobody listens. */
const waybillEndpoints = prepared((db, a: { waybillId: string }) =>
  db
    .selectFrom('webhook_endpoints as e')
    .innerJoin('waybills as w', (j) => j.onTrue())
    .select(['e.id', 'e.client_id', 'e.events', 'w.id as waybill_id', 'w.waybill_no', 'w.order_id', 'w.client_id as waybill_client', 'w.status', 'w.carrier'])
    .where('w.id', '=', a.waybillId)
    .where('e.disabled_at', 'is', null)
    .where((eb) => eb.or([eb('e.client_id', 'is', null), eb('e.client_id', '=', eb.fn.coalesce('w.client_id', sql.lit(LOCAL_CLIENT)))])),
);
/** The same through a relay binding (a call receipt names the binding). */
const bindingEndpoints = prepared((db, a: { bindingId: string }) =>
  db
    .selectFrom('relay_bindings as b')
    .innerJoin('waybills as w', 'w.id', 'b.waybill_id')
    .innerJoin('webhook_endpoints as e', (j) => j.onTrue())
    .select(['e.id', 'e.client_id', 'e.events', 'w.id as waybill_id', 'w.waybill_no', 'w.order_id', 'w.client_id as waybill_client', 'w.status', 'w.carrier', 'b.party'])
    .where('b.id', '=', a.bindingId)
    .where('e.disabled_at', 'is', null)
    .where((eb) => eb.or([eb('e.client_id', 'is', null), eb('e.client_id', '=', eb.fn.coalesce('w.client_id', sql.lit(LOCAL_CLIENT)))])),
);

function parseEvents(events: string | null): string[] | null {
  return events === null ? null : (JSON.parse(events) as string[]);
}

/**
 * Writes the outbox rows of events, each sealed under `sealKey` (held outside the database; see
 * outboxSeal). A store opened without the key writes unsealed rows, which a keyed delivery refuses.
 */
export class OutboxWriter {
  constructor(private readonly sealKey?: Buffer) {}

  /** Events whose client (or admin-only: null) is known: finds the endpoints per client and writes their rows. */
  *events(db: Kysely<Schema>, events: OutboxEvent[]): Steps<number> {
    if (!events.length) return 0;
    const endpoints = new Map<string, EndpointRow>();
    for (const client of new Set(events.map((e) => e.client))) {
      const { rows } = client === null ? yield* step(adminEndpoints, {}) : yield* step(clientEndpoints, { client });
      for (const r of rows) endpoints.set(r.id, r);
    }
    return endpoints.size ? yield* this.insert(db, events, [...endpoints.values()]) : 0;
  }

  /** A waybill's event (known by id only): its facts come from the same SELECT that finds the endpoints. */
  *waybill(db: Kysely<Schema>, waybillId: string, type: WebhookEventType, at: string, extra: OutboxEvent['data'] = {}): Steps<number> {
    const { rows } = yield* step(waybillEndpoints, { waybillId });
    const w = rows[0];
    if (!w) return 0;
    const client = w.waybill_client ?? LOCAL_CLIENT;
    const data = { waybillId: w.waybill_id, waybillNo: w.waybill_no, orderId: w.order_id, client, carrier: w.carrier, status: w.status, ...extra };
    return yield* this.insert(db, [{ type, createdAt: at, client, data }], rows);
  }

  /** A relay call receipt: the binding's waybill's endpoints get relay.call_ended. */
  *call(db: Kysely<Schema>, bindingId: string, at: string, call: OutboxEvent['data']): Steps<number> {
    const { rows } = yield* step(bindingEndpoints, { bindingId });
    const w = rows[0];
    if (!w) return 0;
    const client = w.waybill_client ?? LOCAL_CLIENT;
    const data = { waybillId: w.waybill_id, waybillNo: w.waybill_no, orderId: w.order_id, client, carrier: w.carrier, status: w.status, bindingId, party: w.party, ...call };
    return yield* this.insert(db, [{ type: 'relay.call_ended', createdAt: at, client, data }], rows);
  }

  private *insert(db: Kysely<Schema>, events: OutboxEvent[], endpoints: EndpointRow[]): Steps<number> {
    const rows = events.flatMap((e) =>
      endpoints
        .filter((ep) => endpointReceives({ client: ep.client_id, events: parseEvents(ep.events) }, e))
        .map((ep) => {
          const id = recordId();
          const payload = eventBody(id, e);
          const seal = this.sealKey ? outboxSeal(this.sealKey, { id, endpointId: ep.id, type: e.type, payload }) : null;
          return { id, endpoint_id: ep.id, client_id: e.client, type: e.type, payload, created_at: e.createdAt, next_attempt_at: e.createdAt, attempts: 0, seal };
        }),
    );
    for (let i = 0; i < rows.length; i += CHUNK) yield* step(db.insertInto('webhook_outbox').values(rows.slice(i, i + CHUNK)));
    return rows.length;
  }
}

/** The data of a waybill event from a record the caller holds (a print's save). */
export function waybillData(w: { id: string; waybillNo: string; orderId: string; clientId?: string; carrier: string }, status: string): OutboxEvent['data'] {
  return { waybillId: w.id, waybillNo: w.waybillNo, orderId: w.orderId, client: w.clientId ?? LOCAL_CLIENT, carrier: w.carrier, status };
}
