// Where waybills live, with their print jobs, printed copies, lifecycle events, scan attempts and alerts:
// the port the print, scan and lifecycle use cases need (one implementation for both databases, in
// src/store/). Records hold sealed boxes and keyed hashes only; no field here is personal data in the clear.

import type { SealedBox } from '../vault/sealing';
import type { CopyKind } from '../privacy/copyPolicy';

export const WAYBILL_STATUSES = ['created', 'picked_up', 'delivered', 'returned', 'cancelled'] as const;
export type WaybillStatus = (typeof WAYBILL_STATUSES)[number];

export interface WaybillRecord {
  id: string;
  waybillNo: string;
  carrier: string;
  orderId: string;
  /** The API client (tenant) that created it; absent for waybills printed from the CLI. */
  clientId?: string;
  routingCode?: string; // routing data, printed on paper anyway; strict scan mode matches courier routes on it
  createdAt: string; // ISO 8601
  tokenHash: string;
  status: WaybillStatus;
  /** When the sealed data must be shredded: the maximum lifetime, moved earlier by delivery or cancellation. */
  purgeAfter: string;
  purgedAt?: string;
  /** No relay number could be bound at print time: the label shows the carrier's service number. */
  relayUnavailable?: boolean;
  /** Absent once purged: the data key is destroyed, so nothing can open the data again. */
  sealed?: SealedBox;
}

export interface ScanAttempt {
  courierId: string;
  waybillId?: string;
  at: string;
  outcome: 'ok' | 'unknown' | 'forbidden' | 'out_of_route' | 'gone' | 'limited';
}

/** Rolling-window counts of one courier's scan attempts, for limits and harvest detection. */
export interface ScanCounts {
  lastMinute: number;
  /** Distinct waybills attempted in the last 24 h (all outcomes), and of those, how many were opened. */
  distinctWaybillsDay: number;
  distinctOpenedDay: number;
  unknownLastHour: number;
  outOfRouteDay: number;
  /** Whether this waybill was already opened by this courier in the last 24 h (re-scans are free). */
  openedThisWaybill: boolean;
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

export interface WaybillStore {
  waybillNoExists(waybillNo: string): Promise<boolean>;
  /** Saves a print job, its new waybills and its printed copies in one transaction: all or nothing. */
  savePrintJob(job: PrintJobRecord, waybills: WaybillRecord[], copies: CopyPrintRecord[]): Promise<void>;
  findWaybillByTokenHash(tokenHash: string): Promise<WaybillRecord | undefined>;
  findWaybillByNo(waybillNo: string): Promise<WaybillRecord | undefined>;
  findWaybillById(id: string): Promise<WaybillRecord | undefined>;
  /** A client's waybill by its own order id (unique per client). */
  findWaybillByClientOrder(clientId: string, orderId: string): Promise<WaybillRecord | undefined>;
  /** The print number the next print of this waybill gets: 1 if it was never printed. */
  nextPrintNo(waybillId: string): Promise<number>;
  findCopyPrint(copyCode: string): Promise<(CopyPrintRecord & { job: PrintJobRecord }) | undefined>;

  /** Records a lifecycle event and the status it leads to; `purgeAfter` (when given) can only move the purge earlier. */
  recordEvent(waybillId: string, event: { type: string; status: WaybillStatus; at: string; actor: string }, purgeAfter?: string): Promise<void>;
  /** Live waybills whose time is up, at most `limit` at a time. */
  dueForPurge(now: string, limit: number): Promise<WaybillRecord[]>;
  /**
   * Crypto-shreds a waybill: drops its wrapped data key and ciphertext. The token then answers "gone".
   * False when it was already shredded (another instance's sweep got there first).
   */
  shred(waybillId: string, at: string): Promise<boolean>;
  /** Sealed boxes not wrapped by `keyId`, at most `limit` at a time, for key rotation. */
  sealedNotUnder(keyId: string, limit: number): Promise<WaybillRecord[]>;
  replaceSealed(waybillId: string, sealed: SealedBox): Promise<void>;
  countSealedByKey(): Promise<Record<string, number>>;

  recordScanAttempt(attempt: ScanAttempt): Promise<void>;
  scanCounts(courierId: string, waybillId: string | undefined, now: Date): Promise<ScanCounts>;
  /** A courier's scan attempts after `since`: the cheap per-minute check made before every scan. */
  scanAttemptsSince(courierId: string, since: Date): Promise<number>;
  recordAlert(alert: { at: string; kind: string; courierId?: string; detail: string }): Promise<void>;

  /** Throws when the database cannot be reached (readiness). */
  ping(): Promise<void>;
  /** Closes the database underneath, which other stores may share (a readiness test takes it down so). */
  close(): Promise<void>;
}
