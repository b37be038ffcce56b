// Printers and print deliveries in the embedded SQLite file. The claim is one conditional UPDATE, so two
// processes on one file never send the same job together.

import type Database from 'better-sqlite3';
import type { Printer } from '../printers/printer';
import type { Delivery, DeliveryStatus, PrinterStore } from '../printers/printerStore';
import { toDelivery, toPrinter, type DeliveryRow, type PrinterRow } from './printerRows';
import { statementCache } from './statementCache';
import { UniqueViolation } from './store';

export class SqlitePrinterStore implements PrinterStore {
  private readonly sql: (text: string) => Database.Statement;

  constructor(db: Database.Database) {
    this.sql = statementCache(db);
  }

  async addPrinter(p: Printer): Promise<void> {
    try {
      this.sql(
        'INSERT INTO printers (name, host, port, language, dpi, template_id, client_id, zpl_compression, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(p.name, p.host, p.port, p.language, p.dpi, p.template ?? null, p.client ?? null, p.zplCompression, p.createdAt);
    } catch (e) {
      if (/UNIQUE constraint failed: printers\.name/.test(String((e as Error).message))) throw new UniqueViolation('printer name');
      throw e;
    }
  }

  async listPrinters(): Promise<Printer[]> {
    return (this.sql('SELECT * FROM printers ORDER BY name').all() as PrinterRow[]).map(toPrinter);
  }

  async getPrinter(name: string): Promise<Printer | undefined> {
    const row = this.sql('SELECT * FROM printers WHERE name = ?').get(name) as PrinterRow | undefined;
    return row && toPrinter(row);
  }

  async removePrinter(name: string): Promise<boolean> {
    return this.sql('DELETE FROM printers WHERE name = ?').run(name).changes === 1;
  }

  async saveDelivery(d: Omit<Delivery, 'status' | 'attempts' | 'updatedAt'> & { sealed: NonNullable<Delivery['sealed']> }): Promise<void> {
    this.sql(
      `INSERT INTO print_deliveries (job_id, printer, client_id, status, attempts, byte_length, created_at, updated_at, key_id, wrapped_key, body)
       VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?)`,
    ).run(d.jobId, d.printer, d.clientId ?? null, d.byteLength, d.createdAt, d.createdAt, d.sealed.keyId, d.sealed.wrappedKey, d.sealed.ciphertext);
  }

  async getDelivery(jobId: string): Promise<Delivery | undefined> {
    const row = this.sql('SELECT * FROM print_deliveries WHERE job_id = ?').get(jobId) as DeliveryRow | undefined;
    return row && toDelivery(row);
  }

  async claimDelivery(jobId: string, at: Date, staleBefore: Date): Promise<Delivery | undefined> {
    const claimed = this.sql(
      `UPDATE print_deliveries SET status = 'sending', updated_at = ?
        WHERE job_id = ? AND body IS NOT NULL AND (status IN ('pending', 'failed') OR (status = 'sending' AND updated_at < ?))`,
    ).run(at.toISOString(), jobId, staleBefore.toISOString());
    return claimed.changes === 1 ? this.getDelivery(jobId) : undefined;
  }

  async finishDelivery(jobId: string, o: { status: 'delivered' | 'failed'; attempts: number; error?: string; at: Date }): Promise<void> {
    const at = o.at.toISOString();
    if (o.status === 'delivered')
      this.sql(
        `UPDATE print_deliveries SET status = 'delivered', attempts = attempts + ?, last_error = NULL, updated_at = ?, delivered_at = ?,
           key_id = NULL, wrapped_key = NULL, body = NULL WHERE job_id = ?`,
      ).run(o.attempts, at, at, jobId);
    else
      this.sql("UPDATE print_deliveries SET status = 'failed', attempts = attempts + ?, last_error = ?, updated_at = ? WHERE job_id = ?").run(
        o.attempts,
        o.error ?? null,
        at,
        jobId,
      );
  }

  async listDeliveries(filter: { status?: DeliveryStatus; limit: number }): Promise<Delivery[]> {
    const rows = filter.status
      ? this.sql('SELECT * FROM print_deliveries WHERE status = ? ORDER BY created_at DESC LIMIT ?').all(filter.status, filter.limit)
      : this.sql('SELECT * FROM print_deliveries ORDER BY created_at DESC LIMIT ?').all(filter.limit);
    return (rows as DeliveryRow[]).map(toDelivery);
  }

  async expireDeliveries(before: Date, at: Date): Promise<number> {
    return this.sql(
      `UPDATE print_deliveries SET status = 'expired', updated_at = ?, key_id = NULL, wrapped_key = NULL, body = NULL
        WHERE status IN ('pending', 'sending', 'failed') AND created_at < ?`,
    ).run(at.toISOString(), before.toISOString()).changes;
  }
}
