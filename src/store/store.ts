// What the service persists, behind an async interface so PostgreSQL can sit beside SQLite.
// Records hold sealed boxes and keyed hashes only; no field here is personal data in the clear.

import type { SealedBox } from '../vault/sealing';
import type { CopyKind } from '../privacy/copyPolicy';

export interface WaybillRecord {
  id: string;
  waybillNo: string;
  carrier: string;
  orderId: string;
  createdAt: string; // ISO 8601
  tokenHash: string;
  sealed: SealedBox;
}

export interface PrintJobRecord {
  id: string;
  createdAt: string;
  channel: 'cli' | 'http';
  templateId: string;
  format: string;
  host: string; // where it was printed: machine name
  operator: string; // who printed it: OS user or API client, never a customer
}

/** One printed copy; `copyCode` is what the paper shows so a leaked photo leads back here. */
export interface CopyPrintRecord {
  copyCode: string;
  jobId: string;
  waybillId: string;
  copy: CopyKind;
  printNo: number; // 1 for the first print of this copy, 2+ for reprints
}

export interface Store {
  waybillNoExists(waybillNo: string): Promise<boolean>;
  /** Saves a print job, its new waybills and its printed copies in one transaction: all or nothing. */
  savePrintJob(job: PrintJobRecord, waybills: WaybillRecord[], copies: CopyPrintRecord[]): Promise<void>;
  findWaybillByTokenHash(tokenHash: string): Promise<WaybillRecord | undefined>;
  findWaybillByNo(waybillNo: string): Promise<WaybillRecord | undefined>;
  findCopyPrint(copyCode: string): Promise<(CopyPrintRecord & { job: PrintJobRecord }) | undefined>;
  close(): Promise<void>;
}

/** Thrown by stores when a unique value (waybill number, copy code) is already taken. */
export class UniqueViolation extends Error {
  constructor(readonly what: string) {
    super(`${what} already exists`);
  }
}
