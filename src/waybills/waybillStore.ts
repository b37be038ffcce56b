// Where waybills live, with their print jobs, printed copies, lifecycle events, scan attempts and alerts:
// the port the print, scan and lifecycle use cases need (one implementation for both databases, in
// src/store/). Records hold sealed boxes and keyed hashes only; no field here is personal data in the clear.

import type { AuditChain } from '../audit/auditLog';
import type { SealedBox } from '../vault/sealing';
import type { CopyKind } from '../privacy/copyPolicy';
import type { UnstoredLease } from '../relay/relayStore';
import type { RowCheck } from '../auth/credentials';

export const WAYBILL_STATUSES = ['created', 'printed', 'picked_up', 'delivered', 'returned', 'cancelled'] as const;
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
  /** The courier holding the parcel: set by its `picked_up`, moved by `handed_over`. */
  custodian?: string;
  /** The outlet an admin assigned the pickup to: its couriers may pick up without a pickup scan. */
  assignedOutlet?: string;
  /** An after-sales request was recorded: a delivered or returned parcel opens for any courier of its carrier. */
  afterSales?: boolean;
  /**
   * Read back with a state (status, holder, outlet, purge, after-sales) that lacks the binding the service
   * writes with it (lifeBinding.ts): changed in the database, so nothing may be decided on it.
   */
  rewritten?: boolean;
  /** Absent once purged: the data key is destroyed, so nothing can open the data again. */
  sealed?: SealedBox;
  /**
   * A new multi-piece waybill's child numbers, pieces 2..N in order (piece 1 is `waybillNo`): set when it
   * is saved; records read back leave it out (`pieceNosOf` reads them).
   */
  childNos?: string[];
}

export interface ScanAttempt {
  courierId: string;
  waybillId?: string;
  /** The stated purpose (a pickup scan gives custody rights); absent when refused before it was checked. */
  purpose?: string;
  at: string;
  outcome: 'ok' | 'unknown' | 'forbidden' | 'out_of_route' | 'gone' | 'limited';
}

/**
 * An alert as recorded: ids and reasons, never personal data. `id` grows with time; `kind` is text, as an
 * earlier release may have raised a kind this one no longer does.
 */
export interface StoredAlert extends Omit<NewAlert, 'kind'> {
  id: number;
  kind: string;
}

/** Which alerts to list, newest first: `beforeId` continues a page (ids below it). */
export interface AlertQuery {
  kind?: string;
  from?: string;
  to?: string;
  beforeId?: number;
  limit: number;
}

/** Couriers' scan attempts or their event attempts. */
export type AttemptKind = 'scans' | 'events';

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

/** What is checked before every scan: the last minute's attempts (counted up to a cap) and whether this waybill was opened in the last 24 h. */
export type ScanGate = Pick<ScanCounts, 'lastMinute' | 'openedThisWaybill'>;

/** One applied lifecycle event: what it records, the state it was decided on, the state it leads to. */
export interface EventChange {
  type: string;
  at: string;
  actor: string;
  /** Non-personal facts, kept with the event: the courier handed to, the outlet assigned, a correction's reason. */
  detail?: Record<string, string>;
  from: { status: WaybillStatus; custodian?: string };
  status: WaybillStatus;
  /** A new custodian (null: nobody); absent keeps the current one. */
  custodian?: string | null;
  assignedOutlet?: string;
  /** The change the waybill's relay numbers owe this event, recorded with it until done (RelayDue). */
  relayDue?: RelayEffect;
}

/** What a state does to a waybill's relay numbers: end them, shorten them to after-sales, lengthen them. */
export type RelayEffect = 'cancelled' | 'delivered' | 'returned' | 'after_sales';

/** A recorded event whose relay change is not done yet (its process may have died before it). */
export interface RelayDue {
  eventId: number;
  waybillId: string;
  effect: RelayEffect;
  /** When the event happened: the change is made as of then. */
  at: string;
  /** The waybill's creation, which caps how long its numbers may live. */
  createdAt: string;
  /** The waybill was shredded since: its numbers ended with it, nothing is left to change. */
  purged: boolean;
}

/** What the service raises alerts about (GET /v1/alerts, `waybill alerts`, the `alert.raised` webhook). */
export const ALERT_KINDS = [
  'courier_suspended',
  'courier_daily_limit',
  'telephony_suspended',
  'station_verify_locked',
  'station_suspended',
  'webhook_disabled',
  'webhook_event_refused',
  'waybill_reopened',
  'waybill_no_phone_digits',
  'relay_client_quota',
  'relay_unavailable',
  'credential_tampered',
  'waybill_tampered',
  'relay_tampered',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** An alert as raised: its details name ids, states and reasons, never personal data. */
export interface NewAlert {
  at: string;
  kind: AlertKind;
  courierId?: string;
  detail: string;
}

/** A courier's event attempt, counted for its per-minute limit and closing-burst detection. */
export interface EventAttempt {
  courierId: string;
  waybillId: string;
  type: string;
  at: string;
  outcome: 'ok' | 'forbidden' | 'invalid_transition' | 'suspended';
}

export interface PrintJobRecord {
  id: string;
  createdAt: string;
  channel: 'cli' | 'http';
  templateId: string;
  format: string;
  host: string; // where it was printed: machine name
  operator: string; // who printed it: OS user or API client, never a customer
  /** A PDF or printer-language API batch: its order index → waybill map, saved with the job as the batch resource. */
  batch?: { orderIndex: number; waybillId: string; warnings?: string[] }[];
}

/** A search over waybills: filters (all optional, ANDed), newest first, after the cursor's position. */
export interface WaybillSearch {
  /** Only this client's waybills; absent: every waybill (admins). */
  clientId?: string;
  orderId?: string;
  waybillNo?: string;
  status?: WaybillStatus;
  /** Inclusive lower and exclusive upper bound on createdAt (ISO 8601 UTC). */
  createdFrom?: string;
  createdTo?: string;
  /** The last row of the previous page: the page holds rows strictly before it (createdAt, then id, descending). */
  after?: { createdAt: string; id: string };
  limit: number;
}

/** What a search shows of a waybill: no sealed data, nothing personal. */
export type WaybillSummary = Pick<WaybillRecord, 'id' | 'waybillNo' | 'orderId' | 'clientId' | 'carrier' | 'status' | 'createdAt'>;

/** A stored lifecycle event; `actor` is `role:id` (API, couriers) or the CLI operator. */
export interface StoredWaybillEvent {
  type: string;
  at: string;
  actor: string;
  detail?: Record<string, string>;
}

/** One recorded print of a waybill (print 0: created without paper, a JSON create). */
export interface PrintFact {
  printNo: number;
  at: string;
  channel: string;
  operator: string;
}

export interface BatchRecord {
  id: string;
  clientId?: string;
  createdAt: string;
  count: number;
  items: { index: number; orderId: string; waybillId: string; waybillNo: string; warnings?: string[] }[];
}

/** A printed copy as `waybill audit trace` finds it: with its print job and its waybill's number. */
export type TracedCopy = CopyPrintRecord & { job: PrintJobRecord; waybillNo: string };

/** One printed copy; `copyCode` is what the paper shows so a leaked photo leads back here. */
export interface CopyPrintRecord {
  copyCode: string;
  jobId: string;
  waybillId: string;
  copy: CopyKind;
  printNo: number; // 1 for the first print of this copy, 2+ for reprints
  /** The piece of a multi-piece waybill this copy was printed for; absent: piece 1. */
  pieceNo?: number;
  /** The code was recorded under this number by a print that never reached paper; this print takes it over. */
  takenOver?: boolean;
}

/**
 * An idempotent create's answer (src/http/idempotency.ts), written by the save of the waybill it answers
 * for: a process killed just after that save still leaves the answer for the client's retry.
 */
export interface KeptAnswer {
  client: string;
  key: string;
  at: string;
  response: { status: number; contentType: string; location?: string; warnings?: string[]; sealed: SealedBox };
}

export interface WaybillStore {
  /** Whether a number is taken, as a waybill's number or as a piece's child number. */
  waybillNoExists(waybillNo: string): Promise<boolean>;
  /** A multi-piece waybill's child numbers, pieces 2..N in order; empty for a one-piece waybill. */
  childNosOf(waybillId: string): Promise<string[]>;
  /**
   * Saves a print job, its new waybills and its printed copies in one transaction: all or nothing. A
   * waybill with a copy on paper here moves from `created` to `printed` (src/waybills/transitions.ts).
   * With the print run's lease: ends the lease and confirms the relay bindings it made, in the same
   * transaction, and with `staged` the records the run staged under it (first, in the order staged);
   * throws `unavailable` (nothing saved) when the lease was swept as a dead run's. With `trail`, the
   * print's audit records are appended in the same transaction: saved and audited, or neither. With
   * `claimed`, the print numbers the run claimed under its lease (claimPrintNo) are let go in the same
   * transaction, as its copies now hold them. With `answer`, an idempotent create's answer is kept in it too, and so are the print's `alerts`.
   */
  savePrintJob(
    job: PrintJobRecord,
    waybills: WaybillRecord[],
    copies: CopyPrintRecord[],
    run?: { leaseId?: string; keepLease?: boolean; staged?: boolean; claimed?: boolean; trail?: AuditChain; pending?: readonly string[]; answer?: KeptAnswer; alerts?: readonly NewAlert[] },
  ): Promise<void>;
  /**
   * A running print's new waybills and their first copies, written under its lease and visible nowhere
   * until its save moves them; the lease's drop or sweep deletes them. So a long print need not hold every
   * record in memory until its end.
   */
  stagePrint(leaseId: string, waybills: WaybillRecord[], copies: CopyPrintRecord[]): Promise<void>;
  findWaybillByTokenHash(tokenHash: string): Promise<WaybillRecord | undefined>;
  /** By its number or by a child number of one of its pieces: a piece is no waybill of its own. */
  findWaybillByNo(waybillNo: string): Promise<WaybillRecord | undefined>;
  findWaybillById(id: string): Promise<WaybillRecord | undefined>;
  /** A client's waybill by its own order id (unique per client). */
  findWaybillByClientOrder(clientId: string, orderId: string): Promise<WaybillRecord | undefined>;
  /**
   * The print number the next paper of this waybill gets: 1 + the highest of its prints that is or may
   * still get on paper, or that a running reprint claimed (claimPrintNo). A job sent to a printer that
   * was cancelled or expired undelivered does not count.
   */
  nextPrintNo(waybillId: string): Promise<number>;
  /**
   * Claims the next print number of this waybill for a running reprint, under its lease (an unstored
   * lease is stored in the same transaction): of reprints running at once, on any instance or process,
   * each gets a number of its own. The claim lasts until the run's save (`claimed`), its lease's drop,
   * or the sweep of a dead run; nothing of it is visible as a print.
   */
  claimPrintNo(waybillId: string, lease: { id: string; unstored?: UnstoredLease }): Promise<number>;
  /**
   * The copy codes recorded under this print number (as `nextPrintNo` gives it, only a print that never
   * reached paper can hold it: replaced, or expired undelivered), so the next paper takes them over.
   */
  copyCodesAt(waybillId: string, printNo: number, pieceNo?: number): Promise<Partial<Record<CopyKind, string>>>;
  /** The waybills printed by a print job (from its copies). */
  waybillsOfJob(jobId: string): Promise<WaybillRecord[]>;
  /** This waybill's print jobs kept for a printer and not delivered yet (pending or failed) that print no other waybill. */
  keptJobsOf(waybillId: string): Promise<string[]>;
  findCopyPrint(copyCode: string): Promise<TracedCopy | undefined>;
  /** Which of these copy codes are recorded already, or staged by a running print: a new code must name no other copy. */
  copyCodesTaken(codes: string[]): Promise<string[]>;
  /** Waybill summaries matching a search, newest first (createdAt, then id), at most `limit`. */
  searchWaybills(search: WaybillSearch): Promise<WaybillSummary[]>;
  /** A waybill's lifecycle events, oldest first. */
  eventsOf(waybillId: string): Promise<StoredWaybillEvent[]>;
  /** A waybill's recorded prints (one per print number, the job that made it), oldest first. */
  printsOf(waybillId: string): Promise<PrintFact[]>;
  /** A saved batch with its items in order index order. */
  findBatch(id: string): Promise<BatchRecord | undefined>;

  /**
   * Records a lifecycle event and the state it leads to, only if the waybill is still in the state the
   * decision was made on (`from`): of two racing events at most one applies. False when it was not.
   * `purgeAfter` (when given) can only move the purge earlier. The alert and the audit records (`trail`)
   * are written in the same transaction: a crash keeps all of them or none.
   */
  recordEvent(waybillId: string, event: EventChange, purgeAfter?: string, alert?: NewAlert, trail?: AuditChain): Promise<boolean>;
  /**
   * Events whose relay change is not done, oldest first: of one waybill, or of any waybill up to `before`
   * (the sweep's, for events whose process died), at most `limit`.
   */
  relayDue(which: { waybillId: string } | { before: string; limit: number }): Promise<RelayDue[]>;
  /** The event's relay change is done. */
  relaySettled(eventId: number): Promise<void>;
  /** Whether this courier opened this waybill with a scan of this purpose. */
  hasScanned(courierId: string, waybillId: string, purpose: string): Promise<boolean>;
  recordEventAttempt(attempt: EventAttempt): Promise<void>;
  /** A courier's event attempts after `since`: all, and the closing ones (delivered, returned). */
  eventAttemptsSince(courierId: string, since: Date): Promise<{ all: number; closing: number }>;
  /** Live waybills whose time is up, at most `limit` at a time. */
  dueForPurge(now: string, limit: number): Promise<WaybillRecord[]>;
  /** Every waybill not shredded whose state lacks its binding (lifeBinding.ts). */
  checkStates(): Promise<RowCheck>;
  /**
   * Crypto-shreds a waybill: drops its wrapped data key and ciphertext. The token then answers "gone".
   * False when it was already shredded (another instance's sweep got there first). Its audit records
   * (`trail`) commit with it.
   */
  shred(waybillId: string, at: string, trail?: AuditChain): Promise<boolean>;
  /** After shredding: drops what the database still keeps of pages as they were (SQLite's WAL); nothing elsewhere. */
  dropOldPages(): Promise<void>;
  /** Sealed boxes not wrapped by `keyId`, at most `limit` at a time, for key rotation. */
  sealedNotUnder(keyId: string, limit: number): Promise<WaybillRecord[]>;
  replaceSealed(waybillId: string, sealed: SealedBox): Promise<void>;
  countSealedByKey(): Promise<Record<string, number>>;

  recordScanAttempt(attempt: ScanAttempt): Promise<void>;
  /**
   * Deletes attempts of this kind made before `before`, from the oldest, at most `limit`; returns how
   * many (fewer than `limit`: none older left, but for a few out of order). An opened pickup scan
   * forgotten so leaves its right to post `picked_up` behind (hasScanned), until the waybill is shredded.
   */
  forgetAttempts(kind: AttemptKind, before: string, limit: number): Promise<number>;
  scanCounts(courierId: string, waybillId: string | undefined, now: Date): Promise<ScanCounts>;
  /**
   * The cheap checks made before every scan, in one statement: attempts in the last minute, counted only
   * up to `cap` (the per-minute limit: a higher count decides nothing more), and whether this waybill
   * (none: false) was opened by this courier in the last 24 h.
   */
  scanGate(courierId: string, waybillId: string | undefined, now: Date, cap: number): Promise<ScanGate>;
  /**
   * Records an alert (and its `alert.raised` event); with `unlessSince`, only if no alert of that kind
   * (and courier) was recorded since then: false when it was not recorded.
   */
  recordAlert(alert: NewAlert, unlessSince?: string): Promise<boolean>;
  listAlerts(q: AlertQuery): Promise<StoredAlert[]>;
  /** Deletes alerts recorded before `before`, from the oldest, at most `limit`; returns how many. */
  forgetAlerts(before: string, limit: number): Promise<number>;

  /** Throws when the database cannot be reached (readiness). */
  ping(): Promise<void>;
  /** Closes the database underneath, which other stores may share (a readiness test takes it down so). */
  close(): Promise<void>;
}
