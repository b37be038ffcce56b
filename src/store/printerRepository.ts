// Printer and print delivery rows on either database. Each delivery step is one conditional UPDATE, so
// two processes or instances never send the same job together.

import type { DeleteQueryBuilder, DeleteResult, ExpressionBuilder, Kysely, Selectable } from 'kysely';
import type { Printer } from '../printers/printer';
import { PRINTER_GONE, type AgentPrinterSpec, type AgentRegistration, type Delivery, type DeliveryStatus, type PrinterStore } from '../printers/printerStore';
import type { SealedBox } from '../vault/sealing';
import { bytewise, isUniqueViolation, step, type Database } from './database';
import type { Schema } from './schema';
import { UniqueViolation } from '../errors';
import { inChunks } from '../eventLoop';

type PrinterRow = Selectable<Schema['printers']>;
type DeliveryRow = Selectable<Schema['print_deliveries']>;

function toPrinter(r: PrinterRow): Printer {
  return {
    name: r.name,
    host: r.host,
    port: r.port,
    language: r.language as Printer['language'],
    dpi: r.dpi as Printer['dpi'],
    ...(r.template_id ? { template: r.template_id } : {}),
    ...(r.client_id ? { client: r.client_id } : {}),
    zplCompression: r.zpl_compression as Printer['zplCompression'],
    barcodes: r.barcodes as Printer['barcodes'],
    text: r.text_mode as Printer['text'],
    ...(r.tspl_font ? { font: r.tspl_font } : {}),
    createdAt: r.created_at,
    ...(r.agent_key ? { agent: { key: r.agent_key, ...(r.agent_seen_at ? { seenAt: r.agent_seen_at } : {}) } } : {}),
  };
}

function toDelivery(r: DeliveryRow): Delivery {
  return {
    jobId: r.job_id,
    printer: r.printer,
    ...(r.client_id ? { clientId: r.client_id } : {}),
    status: r.status as DeliveryStatus,
    attempts: r.attempts,
    ...(r.last_error ? { lastError: r.last_error } : {}),
    byteLength: r.byte_length,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.delivered_at ? { deliveredAt: r.delivered_at } : {}),
    ...(r.key_id && r.wrapped_key && r.body ? { sealed: { keyId: r.key_id, wrappedKey: r.wrapped_key, ciphertext: r.body } } : {}),
  };
}

/** The bytes of a job no longer kept. */
const SHREDDED = { key_id: null, wrapped_key: null, body: null } as const;

export class SqlPrinterRepository implements PrinterStore {
  constructor(private readonly d: Database) {}

  async addPrinter(p: Printer): Promise<void> {
    try {
      await this.d.db
        .insertInto('printers')
        .values({
          name: p.name,
          host: p.host,
          port: p.port,
          language: p.language,
          dpi: p.dpi,
          template_id: p.template ?? null,
          client_id: p.client ?? null,
          zpl_compression: p.zplCompression,
          barcodes: p.barcodes ?? 'raster',
          text_mode: p.text ?? 'raster',
          tspl_font: p.font ?? null,
          created_at: p.createdAt,
        })
        .execute();
    } catch (e) {
      // The name is the table's only unique value.
      if (isUniqueViolation(e)) throw new UniqueViolation('printer name');
      throw e;
    }
  }

  async listPrinters(): Promise<Printer[]> {
    // Ordered here, bytewise, so both backends agree whatever the PostgreSQL locale; the list is short.
    const rows = await this.d.db.selectFrom('printers').selectAll().execute();
    return rows.sort((a, b) => bytewise(a.name, b.name)).map(toPrinter);
  }

  async getPrinter(name: string): Promise<Printer | undefined> {
    const row = await this.d.db.selectFrom('printers').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toPrinter(row);
  }

  async removePrinter(name: string, at: Date): Promise<string[] | undefined> {
    const cancelled = await this.removeWithKeptJobs(this.d.db.deleteFrom('printers').where('name', '=', name), at);
    return cancelled.removed ? cancelled.jobs : undefined;
  }

  /**
   * Removes printers and, in the same transaction, ends their kept jobs. A kept job names its printer
   * only: once the name is free it may be registered again by anyone, even another client's agent, which
   * would then be handed the job.
   */
  private removeWithKeptJobs(remove: DeleteQueryBuilder<Schema, 'printers', DeleteResult>, at: Date): Promise<{ removed: number; jobs: string[] }> {
    const db: Kysely<Schema> = this.d.db;
    return this.d.transaction(function* () {
      const { rows: gone } = yield* step(remove.returning('name'));
      if (!gone.length) return { removed: 0, jobs: [] };
      const { rows: jobs } = yield* step(
        db
          .updateTable('print_deliveries')
          .set({ status: 'cancelled', last_error: PRINTER_GONE, updated_at: at.toISOString(), ...SHREDDED })
          .where('printer', 'in', gone.map((g) => g.name))
          // A job being sent right now too: it ends failed and kept otherwise, for a retry by name.
          .where('status', 'in', ['pending', 'failed', 'sending'])
          .returning('job_id'),
      );
      return { removed: gone.length, jobs: jobs.map((r) => r.job_id) };
    });
  }

  async saveDelivery(d: Omit<Delivery, 'status' | 'attempts' | 'updatedAt'> & { sealed: SealedBox }): Promise<void> {
    await this.d.db
      .insertInto('print_deliveries')
      .values({
        job_id: d.jobId,
        printer: d.printer,
        client_id: d.clientId ?? null,
        status: 'pending',
        attempts: 0,
        byte_length: d.byteLength,
        created_at: d.createdAt,
        updated_at: d.createdAt,
        key_id: d.sealed.keyId,
        wrapped_key: d.sealed.wrappedKey,
        body: d.sealed.ciphertext,
      })
      .execute();
  }

  async getDelivery(jobId: string): Promise<Delivery | undefined> {
    const row = await this.d.db.selectFrom('print_deliveries').selectAll().where('job_id', '=', jobId).executeTakeFirst();
    return row && toDelivery(row);
  }

  async claimDelivery(jobId: string, at: Date): Promise<Delivery | undefined> {
    const row = await this.d.db
      .updateTable('print_deliveries')
      .set({ status: 'sending', updated_at: at.toISOString() })
      .where('job_id', '=', jobId)
      .where('body', 'is not', null)
      .where('status', 'in', ['pending', 'failed'])
      .returningAll()
      .executeTakeFirst();
    return row && toDelivery(row);
  }

  async touchDelivery(jobId: string, at: Date): Promise<void> {
    await this.d.db.updateTable('print_deliveries').set({ updated_at: at.toISOString() }).where('job_id', '=', jobId).where('status', '=', 'sending').execute();
  }

  async failAbandoned(at: Date, staleBefore: Date, error: string, jobId?: string): Promise<string[]> {
    const now = at.toISOString();
    const rows = await this.d.db
      .updateTable('print_deliveries')
      .set((eb) => ({ status: 'failed', last_error: error, updated_at: now, partly_sent_at: eb.fn.coalesce('partly_sent_at', eb.val(now)) }))
      .where('status', '=', 'sending')
      .where('updated_at', '<', staleBefore.toISOString())
      .$if(jobId !== undefined, (qb) => qb.where('job_id', '=', jobId!))
      .returning('job_id')
      .execute();
    return rows.map((r) => r.job_id);
  }

  async finishDelivery(jobId: string, o: { status: 'delivered' | 'failed'; attempts: number; error?: string; partlySent?: boolean; at: Date }): Promise<void> {
    const at = o.at.toISOString();
    await this.d.db
      .updateTable('print_deliveries')
      .set((eb) => ({
        attempts: eb('attempts', '+', o.attempts),
        updated_at: at,
        ...(o.status === 'delivered'
          ? { status: 'delivered', last_error: null, delivered_at: at, ...SHREDDED }
          : { status: 'failed', last_error: o.error ?? null, ...(o.partlySent ? { partly_sent_at: eb.fn.coalesce('partly_sent_at', eb.val(at)) } : {}) }),
      }))
      .where('job_id', '=', jobId)
      .execute();
  }

  async cancelDelivery(jobId: string, reason: string, at: Date): Promise<boolean> {
    const result = await this.d.db
      .updateTable('print_deliveries')
      .set({ status: 'cancelled', last_error: reason, updated_at: at.toISOString(), ...SHREDDED })
      .where('job_id', '=', jobId)
      .where('status', 'in', ['pending', 'failed'])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async listDeliveries(filter: { status?: DeliveryStatus; limit: number }): Promise<Delivery[]> {
    let query = this.d.db.selectFrom('print_deliveries').selectAll();
    if (filter.status) query = query.where('status', '=', filter.status);
    const rows = await query.orderBy('created_at', 'desc').limit(filter.limit).execute();
    return rows.map(toDelivery);
  }

  async registerAgentPrinters(agent: { key: string; client: string }, printers: AgentPrinterSpec[], at: Date, onlineSince: Date): Promise<{ printers: AgentRegistration[]; cancelledJobs: string[] }> {
    const now = at.toISOString();
    const out: AgentRegistration[] = [];
    const settings = (p: AgentPrinterSpec) => ({
      language: p.language,
      dpi: p.dpi,
      template_id: p.template ?? null,
      barcodes: p.barcodes,
      text_mode: p.text,
      tspl_font: p.font ?? null,
      agent_key: agent.key,
      agent_seen_at: now,
    });
    for (const p of printers) {
      // Only a printer this agent owns, or one of the same client's agents offline since `onlineSince`, is
      // updated: one conditional UPDATE, so two agents racing for a name never both win.
      const updated = await this.d.db
        .updateTable('printers')
        .set(settings(p))
        .where('name', '=', p.name)
        .where('client_id', '=', agent.client)
        .where('agent_key', 'is not', null)
        .where((eb) => eb.or([eb('agent_key', '=', agent.key), eb('agent_seen_at', 'is', null), eb('agent_seen_at', '<', onlineSince.toISOString())]))
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 1) {
        out.push({ name: p.name, registered: true });
        continue;
      }
      try {
        await this.d.db
          .insertInto('printers')
          .values({ name: p.name, host: '', port: 0, client_id: agent.client, zpl_compression: 'z64', created_at: now, ...settings(p) })
          .execute();
        out.push({ name: p.name, registered: true });
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        // The same words whoever holds it: another client's printer names are not disclosed.
        out.push({ name: p.name, registered: false, reason: 'the name is taken by another printer' });
      }
    }
    let gone = this.d.db.deleteFrom('printers').where('agent_key', '=', agent.key);
    if (printers.length) gone = gone.where('name', 'not in', printers.map((p) => p.name));
    return { printers: out, cancelledJobs: (await this.removeWithKeptJobs(gone, at)).jobs };
  }

  async markAgentSeen(key: string, at: Date | undefined): Promise<void> {
    await this.d.db.updateTable('printers').set({ agent_seen_at: at ? at.toISOString() : null }).where('agent_key', '=', key).execute();
  }

  async pendingDeliveries(printers: string[], client: string, limit: number): Promise<Delivery[]> {
    if (!printers.length) return [];
    const rows = await this.d.db
      .selectFrom('print_deliveries')
      .selectAll()
      .where('status', '=', 'pending')
      .where('printer', 'in', printers)
      .where((eb) => eb.or([eb('client_id', '=', client), eb('client_id', 'is', null)]))
      .orderBy('created_at')
      .limit(limit)
      .execute();
    return rows.map(toDelivery);
  }

  async requeueDelivery(jobId: string, at: Date): Promise<boolean> {
    const result = await this.d.db
      .updateTable('print_deliveries')
      .set({ status: 'pending', updated_at: at.toISOString() })
      .where('job_id', '=', jobId)
      .where('status', '=', 'failed')
      .where('body', 'is not', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  expireDeliveries(before: Date, at: Date, chunk?: number): Promise<number> {
    const { db } = this.d;
    const [beforeIso, atIso] = [before.toISOString(), at.toISOString()];
    // The condition on the row changed too: a job delivered meanwhile (PostgreSQL re-reads the row) stays delivered.
    const undelivered = (eb: ExpressionBuilder<Schema, 'print_deliveries'>) => eb.and([eb('status', 'in', ['pending', 'sending', 'failed']), eb('created_at', '<', beforeIso)]);
    return inChunks(async (limit) => {
      const due = db.selectFrom('print_deliveries').select('job_id').where(undelivered).limit(limit);
      const result = await db.updateTable('print_deliveries').set({ status: 'expired', updated_at: atIso, ...SHREDDED }).where('job_id', 'in', due).where(undelivered).executeTakeFirst();
      return Number(result.numUpdatedRows);
    }, chunk);
  }
}
