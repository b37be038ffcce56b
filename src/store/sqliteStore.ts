// The embedded default store: one SQLite file (better-sqlite3, WAL). Synchronous underneath, async
// outside, so callers are ready for PostgreSQL.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations/index';
import { UniqueViolation, type CopyPrintRecord, type PrintJobRecord, type Store, type WaybillRecord } from './store';
import type { CopyKind } from '../privacy/copyPolicy';

interface WaybillRow {
  id: string;
  waybill_no: string;
  carrier: string;
  order_id: string;
  created_at: string;
  token_hash: string;
  key_id: string;
  wrapped_key: Buffer;
  sealed: Buffer;
}

export class SqliteStore implements Store {
  private constructor(private readonly db: Database.Database) {}

  static open(file: string): SqliteStore {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return new SqliteStore(db);
  }

  async waybillNoExists(waybillNo: string): Promise<boolean> {
    return this.db.prepare('SELECT 1 FROM waybills WHERE waybill_no = ?').get(waybillNo) !== undefined;
  }

  async savePrintJob(job: PrintJobRecord, waybills: WaybillRecord[], copies: CopyPrintRecord[]): Promise<void> {
    const insertJob = this.db.prepare(
      'INSERT INTO print_jobs (id, created_at, channel, template_id, format, host, operator) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const insertWaybill = this.db.prepare(
      `INSERT INTO waybills (id, waybill_no, carrier, order_id, created_at, token_hash, key_id, wrapped_key, sealed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertCopy = this.db.prepare(
      'INSERT INTO copy_prints (copy_code, job_id, waybill_id, copy, print_no) VALUES (?, ?, ?, ?, ?)',
    );
    const run = this.db.transaction(() => {
      insertJob.run(job.id, job.createdAt, job.channel, job.templateId, job.format, job.host, job.operator);
      for (const w of waybills)
        insertWaybill.run(w.id, w.waybillNo, w.carrier, w.orderId, w.createdAt, w.tokenHash, w.sealed.keyId, w.sealed.wrappedKey, w.sealed.ciphertext);
      for (const c of copies) insertCopy.run(c.copyCode, c.jobId, c.waybillId, c.copy, c.printNo);
    });
    try {
      run();
    } catch (e) {
      const message = String((e as Error).message);
      if (/UNIQUE constraint failed: waybills\.waybill_no/.test(message)) throw new UniqueViolation('waybill number');
      if (/UNIQUE constraint failed/.test(message)) throw new UniqueViolation('generated identifier');
      throw e;
    }
  }

  async findWaybillByTokenHash(tokenHash: string): Promise<WaybillRecord | undefined> {
    return toWaybill(this.db.prepare('SELECT * FROM waybills WHERE token_hash = ?').get(tokenHash) as WaybillRow | undefined);
  }

  async findWaybillByNo(waybillNo: string): Promise<WaybillRecord | undefined> {
    return toWaybill(this.db.prepare('SELECT * FROM waybills WHERE waybill_no = ?').get(waybillNo) as WaybillRow | undefined);
  }

  async findCopyPrint(copyCode: string): Promise<(CopyPrintRecord & { job: PrintJobRecord }) | undefined> {
    const row = this.db
      .prepare(
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

  async close(): Promise<void> {
    this.db.close();
  }
}

function migrate(db: Database.Database): void {
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

function toWaybill(row: WaybillRow | undefined): WaybillRecord | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    waybillNo: row.waybill_no,
    carrier: row.carrier,
    orderId: row.order_id,
    createdAt: row.created_at,
    tokenHash: row.token_hash,
    sealed: { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.sealed },
  };
}
