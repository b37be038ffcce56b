// Printers and print deliveries on PostgreSQL (migration 9). The claim is one conditional UPDATE, so
// two instances never send the same job together.

import type { Printer } from '../../printers/printer';
import type { Delivery, DeliveryStatus, PrinterStore } from '../../printers/printerStore';
import { UniqueViolation } from '../store';
import { uniqueConstraintOf, type PgDatabase } from './pgDatabase';
import { toDelivery, toPrinter, type DeliveryRow, type PrinterRow } from '../printerRows';

export class PostgresPrinterStore implements PrinterStore {
  constructor(private readonly db: PgDatabase) {}

  async addPrinter(p: Printer): Promise<void> {
    try {
      await this.db.run(
        'INSERT INTO printers (name, host, port, language, dpi, template_id, client_id, zpl_compression, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        [p.name, p.host, p.port, p.language, p.dpi, p.template ?? null, p.client ?? null, p.zplCompression, p.createdAt],
      );
    } catch (e) {
      if (uniqueConstraintOf(e) === 'printers_pkey') throw new UniqueViolation('printer name');
      throw e;
    }
  }

  async listPrinters(): Promise<Printer[]> {
    return (await this.db.rows<PrinterRow>('SELECT * FROM printers ORDER BY name COLLATE "C"')).map(toPrinter);
  }

  async getPrinter(name: string): Promise<Printer | undefined> {
    const row = await this.db.one<PrinterRow>('SELECT * FROM printers WHERE name = $1', [name]);
    return row && toPrinter(row);
  }

  async removePrinter(name: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM printers WHERE name = $1', [name])) === 1;
  }

  async saveDelivery(d: Omit<Delivery, 'status' | 'attempts' | 'updatedAt'> & { sealed: NonNullable<Delivery['sealed']> }): Promise<void> {
    await this.db.run(
      `INSERT INTO print_deliveries (job_id, printer, client_id, status, attempts, byte_length, created_at, updated_at, key_id, wrapped_key, body)
       VALUES ($1, $2, $3, 'pending', 0, $4, $5, $5, $6, $7, $8)`,
      [d.jobId, d.printer, d.clientId ?? null, d.byteLength, d.createdAt, d.sealed.keyId, d.sealed.wrappedKey, d.sealed.ciphertext],
    );
  }

  async getDelivery(jobId: string): Promise<Delivery | undefined> {
    const row = await this.db.one<DeliveryRow>('SELECT * FROM print_deliveries WHERE job_id = $1', [jobId]);
    return row && toDelivery(row);
  }

  async claimDelivery(jobId: string, at: Date, staleBefore: Date): Promise<Delivery | undefined> {
    const row = await this.db.one<DeliveryRow>(
      `UPDATE print_deliveries SET status = 'sending', updated_at = $1
        WHERE job_id = $2 AND body IS NOT NULL AND (status IN ('pending', 'failed') OR (status = 'sending' AND updated_at < $3))
        RETURNING *`,
      [at.toISOString(), jobId, staleBefore.toISOString()],
    );
    return row && toDelivery(row);
  }

  async finishDelivery(jobId: string, o: { status: 'delivered' | 'failed'; attempts: number; error?: string; at: Date }): Promise<void> {
    const at = o.at.toISOString();
    if (o.status === 'delivered')
      await this.db.run(
        `UPDATE print_deliveries SET status = 'delivered', attempts = attempts + $1, last_error = NULL, updated_at = $2, delivered_at = $2,
           key_id = NULL, wrapped_key = NULL, body = NULL WHERE job_id = $3`,
        [o.attempts, at, jobId],
      );
    else
      await this.db.run("UPDATE print_deliveries SET status = 'failed', attempts = attempts + $1, last_error = $2, updated_at = $3 WHERE job_id = $4", [
        o.attempts,
        o.error ?? null,
        at,
        jobId,
      ]);
  }

  async listDeliveries(filter: { status?: DeliveryStatus; limit: number }): Promise<Delivery[]> {
    const rows = filter.status
      ? await this.db.rows<DeliveryRow>('SELECT * FROM print_deliveries WHERE status = $1 ORDER BY created_at DESC LIMIT $2', [filter.status, filter.limit])
      : await this.db.rows<DeliveryRow>('SELECT * FROM print_deliveries ORDER BY created_at DESC LIMIT $1', [filter.limit]);
    return rows.map(toDelivery);
  }

  async expireDeliveries(before: Date, at: Date): Promise<number> {
    return this.db.run(
      `UPDATE print_deliveries SET status = 'expired', updated_at = $1, key_id = NULL, wrapped_key = NULL, body = NULL
        WHERE status IN ('pending', 'sending', 'failed') AND created_at < $2`,
      [at.toISOString(), before.toISOString()],
    );
  }
}
