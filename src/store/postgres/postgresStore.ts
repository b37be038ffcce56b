// The main Store on PostgreSQL: waybills, print jobs, printed copies, lifecycle events, scan attempts and
// alerts, shared by every service instance on the database. Uniqueness (waybill numbers, copy codes,
// order ids per client) rests on constraints, never on a read-then-write: a racing instance gets
// UniqueViolation exactly as on SQLite.

import type { CopyKind } from '../../privacy/copyPolicy';
import type { SealedBox } from '../../vault/sealing';
import {
  UniqueViolation,
  type CopyPrintRecord,
  type PrintJobRecord,
  type ScanAttempt,
  type ScanCounts,
  type Store,
  type WaybillRecord,
  type WaybillStatus,
} from '../store';
import { toWaybill, type WaybillRow } from '../waybillRows';
import { uniqueConstraintOf, type PgDatabase } from './pgDatabase';


interface CopyPrintRow {
  copy_code: string;
  job_id: string;
  waybill_id: string;
  copy: CopyKind;
  print_no: number;
  created_at: string;
  channel: PrintJobRecord['channel'];
  template_id: string;
  format: string;
  host: string;
  operator: string;
}

export class PostgresStore implements Store {
  constructor(private readonly db: PgDatabase) {}

  async waybillNoExists(waybillNo: string): Promise<boolean> {
    return (await this.db.one('SELECT 1 FROM waybills WHERE waybill_no = $1', [waybillNo])) !== undefined;
  }

  async savePrintJob(job: PrintJobRecord, waybills: WaybillRecord[], copies: CopyPrintRecord[]): Promise<void> {
    for (const w of waybills) if (!w.sealed) throw new Error('a new waybill needs its sealed data');
    const col = <T>(f: (w: WaybillRecord) => T) => waybills.map(f);
    try {
      await this.db.tx(async (q) => {
        await q.run('INSERT INTO print_jobs (id, created_at, channel, template_id, format, host, operator) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          job.id, job.createdAt, job.channel, job.templateId, job.format, job.host, job.operator,
        ]);
        // One statement per table however large the batch: arrays unnested into rows.
        if (waybills.length > 0)
          await q.run(
            `INSERT INTO waybills (id, waybill_no, carrier, order_id, client_id, routing_code, created_at, token_hash, status, purge_after, relay_unavailable, key_id, wrapped_key, sealed)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::boolean[], $12::text[], $13::bytea[], $14::bytea[])`,
            [
              col((w) => w.id), col((w) => w.waybillNo), col((w) => w.carrier), col((w) => w.orderId), col((w) => w.clientId ?? null),
              col((w) => w.routingCode ?? null), col((w) => w.createdAt), col((w) => w.tokenHash), col((w) => w.status), col((w) => w.purgeAfter),
              col((w) => w.relayUnavailable === true), col((w) => w.sealed!.keyId), col((w) => w.sealed!.wrappedKey), col((w) => w.sealed!.ciphertext),
            ],
          );
        if (copies.length > 0)
          await q.run('INSERT INTO copy_prints (copy_code, job_id, waybill_id, copy, print_no) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[])', [
            copies.map((c) => c.copyCode), copies.map((c) => c.jobId), copies.map((c) => c.waybillId), copies.map((c) => c.copy), copies.map((c) => c.printNo),
          ]);
      });
    } catch (e) {
      const constraint = uniqueConstraintOf(e);
      if (constraint === 'waybills_waybill_no_key') throw new UniqueViolation('waybill number');
      if (constraint === 'waybills_client_order') throw new UniqueViolation('order id');
      if (constraint !== undefined) throw new UniqueViolation('generated identifier');
      throw e;
    }
  }

  async findWaybillByTokenHash(tokenHash: string): Promise<WaybillRecord | undefined> {
    return toWaybill(await this.db.one<WaybillRow>('SELECT * FROM waybills WHERE token_hash = $1', [tokenHash]));
  }

  async findWaybillByNo(waybillNo: string): Promise<WaybillRecord | undefined> {
    return toWaybill(await this.db.one<WaybillRow>('SELECT * FROM waybills WHERE waybill_no = $1', [waybillNo]));
  }

  async findWaybillById(id: string): Promise<WaybillRecord | undefined> {
    return toWaybill(await this.db.one<WaybillRow>('SELECT * FROM waybills WHERE id = $1', [id]));
  }

  async findWaybillByClientOrder(clientId: string, orderId: string): Promise<WaybillRecord | undefined> {
    return toWaybill(await this.db.one<WaybillRow>('SELECT * FROM waybills WHERE client_id = $1 AND order_id = $2', [clientId, orderId]));
  }

  async nextPrintNo(waybillId: string): Promise<number> {
    const row = await this.db.one<{ n: number }>('SELECT coalesce(max(print_no), 0) + 1 AS n FROM copy_prints WHERE waybill_id = $1', [waybillId]);
    return row!.n;
  }

  async findCopyPrint(copyCode: string): Promise<(CopyPrintRecord & { job: PrintJobRecord }) | undefined> {
    const row = await this.db.one<CopyPrintRow>(
      `SELECT c.copy_code, c.job_id, c.waybill_id, c.copy, c.print_no,
              j.created_at, j.channel, j.template_id, j.format, j.host, j.operator
         FROM copy_prints c JOIN print_jobs j ON j.id = c.job_id WHERE c.copy_code = $1`,
      [copyCode],
    );
    if (!row) return undefined;
    return {
      copyCode: row.copy_code,
      jobId: row.job_id,
      waybillId: row.waybill_id,
      copy: row.copy,
      printNo: row.print_no,
      job: { id: row.job_id, createdAt: row.created_at, channel: row.channel, templateId: row.template_id, format: row.format, host: row.host, operator: row.operator },
    };
  }

  async recordEvent(waybillId: string, event: { type: string; status: WaybillStatus; at: string; actor: string }, purgeAfter?: string): Promise<void> {
    await this.db.tx(async (q) => {
      await q.run('INSERT INTO waybill_events (waybill_id, type, at, actor) VALUES ($1, $2, $3, $4)', [waybillId, event.type, event.at, event.actor]);
      await q.run('UPDATE waybills SET status = $1, purge_after = least(purge_after, coalesce($2, purge_after)) WHERE id = $3', [event.status, purgeAfter ?? null, waybillId]);
    });
  }

  async dueForPurge(now: string, limit: number): Promise<WaybillRecord[]> {
    const rows = await this.db.rows<WaybillRow>('SELECT * FROM waybills WHERE purged_at IS NULL AND purge_after <= $1 ORDER BY purge_after LIMIT $2', [now, limit]);
    return rows.map((r) => toWaybill(r)!);
  }

  async shred(waybillId: string, at: string): Promise<boolean> {
    return (await this.db.run('UPDATE waybills SET wrapped_key = NULL, sealed = NULL, purged_at = $1 WHERE id = $2 AND purged_at IS NULL', [at, waybillId])) === 1;
  }

  async sealedNotUnder(keyId: string, limit: number): Promise<WaybillRecord[]> {
    const rows = await this.db.rows<WaybillRow>('SELECT * FROM waybills WHERE wrapped_key IS NOT NULL AND key_id <> $1 LIMIT $2', [keyId, limit]);
    return rows.map((r) => toWaybill(r)!);
  }

  async replaceSealed(waybillId: string, sealed: SealedBox): Promise<void> {
    await this.db.run('UPDATE waybills SET key_id = $1, wrapped_key = $2, sealed = $3 WHERE id = $4 AND wrapped_key IS NOT NULL', [
      sealed.keyId, sealed.wrappedKey, sealed.ciphertext, waybillId,
    ]);
  }

  async countSealedByKey(): Promise<Record<string, number>> {
    const rows = await this.db.rows<{ key_id: string; n: number }>('SELECT key_id, count(*)::int AS n FROM waybills WHERE wrapped_key IS NOT NULL GROUP BY key_id');
    return Object.fromEntries(rows.map((r) => [r.key_id, r.n]));
  }

  async recordScanAttempt(a: ScanAttempt): Promise<void> {
    await this.db.run('INSERT INTO scan_attempts (courier_id, waybill_id, at, outcome) VALUES ($1, $2, $3, $4)', [a.courierId, a.waybillId ?? null, a.at, a.outcome]);
  }

  async scanCounts(courierId: string, waybillId: string | undefined, now: Date): Promise<ScanCounts> {
    const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
    const row = await this.db.one<Record<'last_minute' | 'distinct_day' | 'opened_day' | 'unknown_hour' | 'out_of_route_day' | 'opened_this', number>>(
      `SELECT
         (count(*) FILTER (WHERE at > $3))::int AS last_minute,
         (count(DISTINCT waybill_id))::int AS distinct_day,
         (count(DISTINCT waybill_id) FILTER (WHERE outcome = 'ok'))::int AS opened_day,
         (count(*) FILTER (WHERE outcome = 'unknown' AND at > $4))::int AS unknown_hour,
         (count(*) FILTER (WHERE outcome = 'out_of_route'))::int AS out_of_route_day,
         (count(*) FILTER (WHERE outcome = 'ok' AND waybill_id = $2))::int AS opened_this
       FROM scan_attempts WHERE courier_id = $1 AND at > $5`,
      [courierId, waybillId ?? null, ago(60_000), ago(3_600_000), ago(86_400_000)],
    );
    return {
      lastMinute: row!.last_minute,
      distinctWaybillsDay: row!.distinct_day,
      distinctOpenedDay: row!.opened_day,
      unknownLastHour: row!.unknown_hour,
      outOfRouteDay: row!.out_of_route_day,
      openedThisWaybill: row!.opened_this > 0,
    };
  }

  async scanAttemptsSince(courierId: string, since: Date): Promise<number> {
    return (await this.db.one<{ n: number }>('SELECT count(*)::int AS n FROM scan_attempts WHERE courier_id = $1 AND at > $2', [courierId, since.toISOString()]))!.n;
  }

  async recordAlert(alert: { at: string; kind: string; courierId?: string; detail: string }): Promise<void> {
    await this.db.run('INSERT INTO alerts (at, kind, courier_id, detail) VALUES ($1, $2, $3, $4)', [alert.at, alert.kind, alert.courierId ?? null, alert.detail]);
  }

  async ping(): Promise<void> {
    await this.db.one('SELECT 1');
  }

  /** Ends the pool every PostgreSQL store of this process shares. */
  async close(): Promise<void> {
    await this.db.close();
  }
}
