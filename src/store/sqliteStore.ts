// The embedded default store: one SQLite file (better-sqlite3, WAL). Synchronous underneath, async
// outside, so callers are ready for PostgreSQL.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations/index';
import {
  UniqueViolation,
  type CopyPrintRecord,
  type PrintJobRecord,
  type ScanAttempt,
  type ScanCounts,
  type Store,
  type WaybillRecord,
  type WaybillStatus,
} from './store';
import type { SealedBox } from '../vault/sealing';
import type { CopyKind } from '../privacy/copyPolicy';
import { statementCache } from './statementCache';
import { toWaybill, type WaybillRow } from './waybillRows';


export class SqliteStore implements Store {
  private readonly sql: (text: string) => Database.Statement;

  private constructor(private readonly db: Database.Database) {
    this.sql = statementCache(db);
  }

  static open(file: string): SqliteStore {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // WAL keeps committed data safe from crashes; only a power cut may lose the last commits
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    applyMigrations(db);
    return new SqliteStore(db);
  }

  async waybillNoExists(waybillNo: string): Promise<boolean> {
    return this.sql('SELECT 1 FROM waybills WHERE waybill_no = ?').get(waybillNo) !== undefined;
  }

  async savePrintJob(job: PrintJobRecord, waybills: WaybillRecord[], copies: CopyPrintRecord[]): Promise<void> {
    const insertJob = this.sql(
      'INSERT INTO print_jobs (id, created_at, channel, template_id, format, host, operator) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const insertWaybill = this.sql(
      `INSERT INTO waybills (id, waybill_no, carrier, order_id, client_id, routing_code, created_at, token_hash, status, purge_after, relay_unavailable, key_id, wrapped_key, sealed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertCopy = this.sql(
      'INSERT INTO copy_prints (copy_code, job_id, waybill_id, copy, print_no) VALUES (?, ?, ?, ?, ?)',
    );
    const run = this.db.transaction(() => {
      insertJob.run(job.id, job.createdAt, job.channel, job.templateId, job.format, job.host, job.operator);
      for (const w of waybills) {
        if (!w.sealed) throw new Error('a new waybill needs its sealed data');
        insertWaybill.run(w.id, w.waybillNo, w.carrier, w.orderId, w.clientId ?? null, w.routingCode ?? null, w.createdAt, w.tokenHash, w.status, w.purgeAfter, w.relayUnavailable ? 1 : 0, w.sealed.keyId, w.sealed.wrappedKey, w.sealed.ciphertext);
      }
      for (const c of copies) insertCopy.run(c.copyCode, c.jobId, c.waybillId, c.copy, c.printNo);
    });
    try {
      run();
    } catch (e) {
      const message = String((e as Error).message);
      if (/UNIQUE constraint failed: waybills\.waybill_no/.test(message)) throw new UniqueViolation('waybill number');
      if (/UNIQUE constraint failed: waybills\.client_id, waybills\.order_id/.test(message)) throw new UniqueViolation('order id');
      if (/UNIQUE constraint failed/.test(message)) throw new UniqueViolation('generated identifier');
      throw e;
    }
  }

  async findWaybillByTokenHash(tokenHash: string): Promise<WaybillRecord | undefined> {
    return toWaybill(this.sql('SELECT * FROM waybills WHERE token_hash = ?').get(tokenHash) as WaybillRow | undefined);
  }

  async findWaybillByNo(waybillNo: string): Promise<WaybillRecord | undefined> {
    return toWaybill(this.sql('SELECT * FROM waybills WHERE waybill_no = ?').get(waybillNo) as WaybillRow | undefined);
  }

  async findWaybillById(id: string): Promise<WaybillRecord | undefined> {
    return toWaybill(this.sql('SELECT * FROM waybills WHERE id = ?').get(id) as WaybillRow | undefined);
  }

  async findWaybillByClientOrder(clientId: string, orderId: string): Promise<WaybillRecord | undefined> {
    return toWaybill(this.sql('SELECT * FROM waybills WHERE client_id = ? AND order_id = ?').get(clientId, orderId) as WaybillRow | undefined);
  }

  async nextPrintNo(waybillId: string): Promise<number> {
    const row = this.sql('SELECT coalesce(max(print_no), 0) + 1 AS n FROM copy_prints WHERE waybill_id = ?').get(waybillId) as { n: number };
    return row.n;
  }

  async findCopyPrint(copyCode: string): Promise<(CopyPrintRecord & { job: PrintJobRecord }) | undefined> {
    const row = this.sql(
        `SELECT c.copy_code, c.job_id, c.waybill_id, c.copy, c.print_no,
                j.created_at, j.channel, j.template_id, j.format, j.host, j.operator
           FROM copy_prints c JOIN print_jobs j ON j.id = c.job_id WHERE c.copy_code = ?`,
      )
      .get(copyCode) as Record<string, string | number> | undefined;
    if (!row) return undefined;
    return {
      copyCode: String(row.copy_code),
      jobId: String(row.job_id),
      waybillId: String(row.waybill_id),
      copy: row.copy as CopyKind,
      printNo: Number(row.print_no),
      job: {
        id: String(row.job_id),
        createdAt: String(row.created_at),
        channel: row.channel as PrintJobRecord['channel'],
        templateId: String(row.template_id),
        format: String(row.format),
        host: String(row.host),
        operator: String(row.operator),
      },
    };
  }

  async recordEvent(waybillId: string, event: { type: string; status: WaybillStatus; at: string; actor: string }, purgeAfter?: string): Promise<void> {
    this.db.transaction(() => {
      this.sql('INSERT INTO waybill_events (waybill_id, type, at, actor) VALUES (?, ?, ?, ?)').run(waybillId, event.type, event.at, event.actor);
      this.sql('UPDATE waybills SET status = ?, purge_after = min(purge_after, coalesce(?, purge_after)) WHERE id = ?')
        .run(event.status, purgeAfter ?? null, waybillId);
    })();
  }

  async dueForPurge(now: string, limit: number): Promise<WaybillRecord[]> {
    const rows = this.sql('SELECT * FROM waybills WHERE purged_at IS NULL AND purge_after <= ? ORDER BY purge_after LIMIT ?').all(now, limit);
    return (rows as WaybillRow[]).map((r) => toWaybill(r)!);
  }

  async shred(waybillId: string, at: string): Promise<boolean> {
    return this.sql('UPDATE waybills SET wrapped_key = NULL, sealed = NULL, purged_at = ? WHERE id = ? AND purged_at IS NULL').run(at, waybillId).changes === 1;
  }

  async sealedNotUnder(keyId: string, limit: number): Promise<WaybillRecord[]> {
    const rows = this.sql('SELECT * FROM waybills WHERE wrapped_key IS NOT NULL AND key_id <> ? LIMIT ?').all(keyId, limit);
    return (rows as WaybillRow[]).map((r) => toWaybill(r)!);
  }

  async replaceSealed(waybillId: string, sealed: SealedBox): Promise<void> {
    this.sql('UPDATE waybills SET key_id = ?, wrapped_key = ?, sealed = ? WHERE id = ? AND wrapped_key IS NOT NULL')
      .run(sealed.keyId, sealed.wrappedKey, sealed.ciphertext, waybillId);
  }

  async countSealedByKey(): Promise<Record<string, number>> {
    const rows = this.sql('SELECT key_id, count(*) AS n FROM waybills WHERE wrapped_key IS NOT NULL GROUP BY key_id').all() as { key_id: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.key_id, r.n]));
  }

  async recordScanAttempt(a: ScanAttempt): Promise<void> {
    this.sql('INSERT INTO scan_attempts (courier_id, waybill_id, at, outcome) VALUES (?, ?, ?, ?)').run(a.courierId, a.waybillId ?? null, a.at, a.outcome);
  }

  async scanCounts(courierId: string, waybillId: string | undefined, now: Date): Promise<ScanCounts> {
    const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
    const row = this.sql(
        `SELECT
           count(*) FILTER (WHERE at > @minute) AS lastMinute,
           count(DISTINCT waybill_id) AS distinctWaybillsDay,
           count(DISTINCT waybill_id) FILTER (WHERE outcome = 'ok') AS distinctOpenedDay,
           count(*) FILTER (WHERE outcome = 'unknown' AND at > @hour) AS unknownLastHour,
           count(*) FILTER (WHERE outcome = 'out_of_route') AS outOfRouteDay,
           count(*) FILTER (WHERE outcome = 'ok' AND waybill_id = @waybill) AS openedThisWaybill
         FROM scan_attempts WHERE courier_id = @courier AND at > @day`,
      )
      .get({ courier: courierId, waybill: waybillId ?? null, minute: ago(60_000), hour: ago(3_600_000), day: ago(86_400_000) }) as Record<string, number>;
    return {
      lastMinute: row.lastMinute!,
      distinctWaybillsDay: row.distinctWaybillsDay!,
      distinctOpenedDay: row.distinctOpenedDay!,
      unknownLastHour: row.unknownLastHour!,
      outOfRouteDay: row.outOfRouteDay!,
      openedThisWaybill: row.openedThisWaybill! > 0,
    };
  }

  async scanAttemptsSince(courierId: string, since: Date): Promise<number> {
    return (this.sql('SELECT count(*) AS n FROM scan_attempts WHERE courier_id = ? AND at > ?').get(courierId, since.toISOString()) as { n: number }).n;
  }

  async recordAlert(alert: { at: string; kind: string; courierId?: string; detail: string }): Promise<void> {
    this.sql('INSERT INTO alerts (at, kind, courier_id, detail) VALUES (?, ?, ?, ?)').run(alert.at, alert.kind, alert.courierId ?? null, alert.detail);
  }

  /** The connection, for the other SQLite-backed stores (audit log, couriers) that share this file. */
  get database(): Database.Database {
    return this.db;
  }

  async ping(): Promise<void> {
    this.sql('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** Applies the versioned migrations a database lacks; safe when several processes start at once. */
export function applyMigrations(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  for (const m of MIGRATIONS) {
    // IMMEDIATE takes the write lock first, so a second process starting at once waits, then skips.
    db.transaction(() => {
      if (isApplied.get(m.version)) return;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }).immediate();
  }
}
