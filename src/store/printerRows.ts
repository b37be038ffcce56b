// What the SQLite and PostgreSQL printer stores share: the row shapes and their mapping. Pure.

import type { Printer } from '../printers/printer';
import type { Delivery, DeliveryStatus } from '../printers/printerStore';

export interface PrinterRow {
  name: string;
  host: string;
  port: number;
  language: Printer['language'];
  dpi: Printer['dpi'];
  template_id: string | null;
  client_id: string | null;
  zpl_compression: Printer['zplCompression'];
  created_at: string;
}

export interface DeliveryRow {
  job_id: string;
  printer: string;
  client_id: string | null;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  byte_length: number;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
  key_id: string | null;
  wrapped_key: Buffer | null;
  body: Buffer | null;
}

export function toPrinter(r: PrinterRow): Printer {
  return {
    name: r.name,
    host: r.host,
    port: r.port,
    language: r.language,
    dpi: r.dpi,
    ...(r.template_id ? { template: r.template_id } : {}),
    ...(r.client_id ? { client: r.client_id } : {}),
    zplCompression: r.zpl_compression,
    createdAt: r.created_at,
  };
}

export function toDelivery(r: DeliveryRow): Delivery {
  return {
    jobId: r.job_id,
    printer: r.printer,
    ...(r.client_id ? { clientId: r.client_id } : {}),
    status: r.status,
    attempts: r.attempts,
    ...(r.last_error ? { lastError: r.last_error } : {}),
    byteLength: r.byte_length,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.delivered_at ? { deliveredAt: r.delivered_at } : {}),
    ...(r.key_id && r.wrapped_key && r.body ? { sealed: { keyId: r.key_id, wrappedKey: r.wrapped_key, ciphertext: r.body } } : {}),
  };
}
