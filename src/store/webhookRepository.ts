// Webhook endpoints and the outbox on either database. Outbox rows are written by the state changes'
// own transactions (webhookOutbox.ts); here: the registry, the claim of due rows (one conditional UPDATE
// per row, so two instances never claim the same attempt) and the end of an attempt.

import type { ExpressionBuilder, Selectable } from 'kysely';
import type { WebhookEventType } from '../webhooks/events';
import type { OutboxEntry, WebhookEndpoint, WebhookRepository } from '../webhooks/webhookStore';
import type { SealedBox } from '../vault/sealing';
import { step, type Database } from './database';
import type { Schema } from './schema';

type EndpointRow = Selectable<Schema['webhook_endpoints']>;
type OutboxRow = Selectable<Schema['webhook_outbox']>;

function toEndpoint(r: EndpointRow): WebhookEndpoint {
  return {
    id: r.id,
    client: r.client_id,
    url: r.url,
    events: r.events === null ? null : (JSON.parse(r.events) as WebhookEventType[]),
    createdAt: r.created_at,
    ...(r.disabled_at ? { disabledAt: r.disabled_at } : {}),
    ...(r.disabled_reason ? { disabledReason: r.disabled_reason } : {}),
    ...(r.failing_since ? { failingSince: r.failing_since } : {}),
    secret: { keyId: r.key_id, wrappedKey: r.wrapped_key, ciphertext: r.sealed },
    ...(r.prev_key_id && r.prev_wrapped_key && r.prev_sealed && r.prev_expires_at
      ? { previous: { secret: { keyId: r.prev_key_id, wrappedKey: r.prev_wrapped_key, ciphertext: r.prev_sealed }, expiresAt: r.prev_expires_at } }
      : {}),
  };
}

function toEntry(r: OutboxRow): OutboxEntry {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    client: r.client_id,
    type: r.type as WebhookEventType,
    payload: r.payload,
    createdAt: r.created_at,
    nextAttemptAt: r.next_attempt_at,
    attempts: Number(r.attempts),
    ...(r.delivered_at ? { deliveredAt: r.delivered_at } : {}),
    ...(r.given_up_at ? { givenUpAt: r.given_up_at } : {}),
    ...(r.last_error ? { lastError: r.last_error } : {}),
    ...(r.seal ? { seal: r.seal } : {}),
  };
}

export class SqlWebhookRepository implements WebhookRepository {
  constructor(private readonly d: Database) {}

  async addEndpoint(e: WebhookEndpoint): Promise<void> {
    await this.d.db
      .insertInto('webhook_endpoints')
      .values({
        id: e.id,
        client_id: e.client,
        url: e.url,
        events: e.events === null ? null : JSON.stringify(e.events),
        key_id: e.secret.keyId,
        wrapped_key: e.secret.wrappedKey,
        sealed: e.secret.ciphertext,
        created_at: e.createdAt,
      })
      .execute();
  }

  async listEndpoints(client?: string | null): Promise<WebhookEndpoint[]> {
    let q = this.d.db.selectFrom('webhook_endpoints').selectAll();
    if (client === null) q = q.where('client_id', 'is', null);
    else if (client !== undefined) q = q.where('client_id', '=', client);
    return (await q.orderBy('created_at').orderBy('id').execute()).map(toEndpoint);
  }

  async getEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
    const row = await this.d.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toEndpoint(row);
  }

  async removeEndpoint(id: string): Promise<boolean> {
    const { db } = this.d;
    return this.d.transaction(function* () {
      yield* step(db.deleteFrom('webhook_outbox').where('endpoint_id', '=', id));
      return (yield* step(db.deleteFrom('webhook_endpoints').where('id', '=', id))).changes === 1;
    });
  }

  async rotateSecret(id: string, secret: SealedBox, previous: SealedBox, previousExpiresAt: string): Promise<boolean> {
    const result = await this.d.db
      .updateTable('webhook_endpoints')
      .set({
        key_id: secret.keyId,
        wrapped_key: secret.wrappedKey,
        sealed: secret.ciphertext,
        prev_key_id: previous.keyId,
        prev_wrapped_key: previous.wrappedKey,
        prev_sealed: previous.ciphertext,
        prev_expires_at: previousExpiresAt,
      })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async getEvent(id: string): Promise<OutboxEntry | undefined> {
    const row = await this.d.db.selectFrom('webhook_outbox').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toEntry(row);
  }

  async redeliver(id: string, at: string): Promise<boolean> {
    const { db } = this.d;
    return this.d.transaction(function* () {
      // Not while an attempt holds it: that would send the same event twice at once.
      const { rows } = yield* step(
        db
          .updateTable('webhook_outbox')
          .set({ next_attempt_at: at, delivered_at: null, given_up_at: null, claimed_by: null, claimed_until: null })
          .where('id', '=', id)
          .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', at)]))
          .returning('endpoint_id'),
      );
      const row = rows[0];
      if (!row) return false;
      yield* step(
        db
          .updateTable('webhook_endpoints')
          .set({ disabled_at: null, disabled_reason: null, failing_since: null })
          .where('id', '=', row.endpoint_id)
          .where('disabled_at', 'is not', null),
      );
      return true;
    });
  }

  async claimDue(worker: string, now: string, until: string, limit: number): Promise<OutboxEntry[]> {
    const { db } = this.d;
    const candidates = await db
      .selectFrom('webhook_outbox as o')
      .innerJoin('webhook_endpoints as e', 'e.id', 'o.endpoint_id')
      .select('o.id')
      .where('o.delivered_at', 'is', null)
      .where('o.given_up_at', 'is', null)
      .where('o.next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('o.claimed_until', 'is', null), eb('o.claimed_until', '<', now)]))
      .where('e.disabled_at', 'is', null)
      .orderBy('o.next_attempt_at')
      .limit(limit)
      .execute();
    const claimed: OutboxEntry[] = [];
    for (const { id } of candidates) {
      // The same conditions again, in the UPDATE: of two instances that read the same candidate, one
      // changes the row; on PostgreSQL the other waits for its row lock, re-checks, and changes nothing.
      const row = await db
        .updateTable('webhook_outbox')
        .set((eb) => ({ claimed_by: worker, claimed_until: until, attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where('delivered_at', 'is', null)
        .where('given_up_at', 'is', null)
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
        .returningAll()
        .executeTakeFirst();
      if (row) claimed.push(toEntry(row));
    }
    return claimed;
  }

  async finishAttempt(
    id: string,
    worker: string,
    o: { delivered: true; at: string } | { delivered: false; at: string; error: string; nextAttemptAt: string; giveUp: boolean },
  ): Promise<boolean> {
    const result = await this.d.db
      .updateTable('webhook_outbox')
      .set(
        o.delivered
          ? { delivered_at: o.at, last_error: null, claimed_by: null, claimed_until: null }
          : { last_error: o.error, next_attempt_at: o.nextAttemptAt, claimed_by: null, claimed_until: null, ...(o.giveUp ? { given_up_at: o.at } : {}) },
      )
      .where('id', '=', id)
      .where('claimed_by', '=', worker)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async endpointHealthy(endpointId: string): Promise<void> {
    await this.d.db.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', endpointId).where('failing_since', 'is not', null).execute();
  }

  async sealedNotUnder(keyId: string, limit: number): Promise<WebhookEndpoint[]> {
    const rows = await this.d.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where((eb) => eb.or([eb('key_id', '<>', keyId), eb.and([eb('prev_key_id', 'is not', null), eb('prev_key_id', '<>', keyId)])]))
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toEndpoint);
  }

  async replaceSealed(id: string, was: WebhookEndpoint, secret: SealedBox, previous: SealedBox | undefined): Promise<boolean> {
    let q = this.d.db
      .updateTable('webhook_endpoints')
      .set({ key_id: secret.keyId, wrapped_key: secret.wrappedKey, ...(previous ? { prev_key_id: previous.keyId, prev_wrapped_key: previous.wrappedKey } : {}) })
      .where('id', '=', id)
      .where('key_id', '=', was.secret.keyId)
      .where('wrapped_key', '=', was.secret.wrappedKey);
    q = was.previous ? q.where('prev_key_id', '=', was.previous.secret.keyId).where('prev_wrapped_key', '=', was.previous.secret.wrappedKey) : q.where('prev_key_id', 'is', null);
    return Number((await q.executeTakeFirst()).numUpdatedRows) === 1;
  }

  async countSealedByKey(): Promise<Record<string, number>> {
    const count = (column: 'key_id' | 'prev_key_id') =>
      this.d.db
        .selectFrom('webhook_endpoints')
        .select((eb) => [eb.ref(column).as('key'), eb.fn.countAll<number | string>().as('n')])
        .where(column, 'is not', null)
        .groupBy(column)
        .execute();
    const counts: Record<string, number> = {};
    for (const r of [...(await count('key_id')), ...(await count('prev_key_id'))]) counts[r.key!] = (counts[r.key!] ?? 0) + Number(r.n);
    return counts;
  }

  async deleteFinishedBefore(before: string, limit: number): Promise<number> {
    const { db } = this.d;
    const finished = (eb: ExpressionBuilder<Schema, 'webhook_outbox'>) =>
      eb.and([
        eb.or([eb('delivered_at', '<', before), eb.and([eb('delivered_at', 'is', null), eb('given_up_at', '<', before)])]),
        eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', before)]),
      ]);
    // At most `limit` by id, so a long-neglected outbox is cleared without one huge statement; the condition
    // on the row deleted too (PostgreSQL re-reads a row changed meanwhile).
    const due = db.selectFrom('webhook_outbox').select('id').where(finished).limit(limit);
    const result = await db.deleteFrom('webhook_outbox').where('id', 'in', due).where(finished).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async endpointFailed(endpointId: string, at: string, disableIfSince: string, reason: string): Promise<boolean> {
    const { db } = this.d;
    return this.d.transaction(function* () {
      yield* step(db.updateTable('webhook_endpoints').set({ failing_since: at }).where('id', '=', endpointId).where('failing_since', 'is', null).where('disabled_at', 'is', null));
      const { changes } = yield* step(
        db
          .updateTable('webhook_endpoints')
          .set({ disabled_at: at, disabled_reason: reason })
          .where('id', '=', endpointId)
          .where('disabled_at', 'is', null)
          .where('failing_since', '<=', disableIfSince),
      );
      return changes === 1;
    });
  }
}
