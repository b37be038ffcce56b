// Where printers and their delivery jobs live (one implementation for both databases, in src/store/). A
// job's bytes hold QR tokens, so they are kept sealed, only until the printer took them or the job expired.

import type { SealedBox } from '../vault/sealing';
import type { Printer } from './printer';

/**
 * pending: rendered, not sent yet. sending: one process is sending it now. delivered: the printer took
 * every byte (its bytes are shredded). failed: kept for a retry. expired: never delivered, bytes shredded.
 * cancelled: never to be sent (its waybill was cancelled or purged, or a newer print replaced it), bytes shredded.
 */
export const DELIVERY_STATUSES = ['pending', 'sending', 'delivered', 'failed', 'expired', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface Delivery {
  /** The print job whose bytes these are: one delivery per job. */
  jobId: string;
  printer: string;
  /** The API client that sent it, if any: only that client sees it. */
  clientId?: string;
  status: DeliveryStatus;
  attempts: number;
  lastError?: string;
  byteLength: number;
  createdAt: string;
  updatedAt: string;
  deliveredAt?: string;
  /** Present while the job can still be sent (pending, sending, failed). */
  sealed?: SealedBox;
}

/** Why a printer's kept jobs ended with it (PrinterStore.removePrinter). */
export const PRINTER_GONE = 'its printer was removed or renamed before the job was sent';

export interface PrinterStore {
  /** Throws UniqueViolation('printer name') when the name is taken. */
  addPrinter(printer: Printer): Promise<void>;
  listPrinters(): Promise<Printer[]>;
  getPrinter(name: string): Promise<Printer | undefined>;
  /**
   * Undefined for an unknown name. Jobs already sent to it keep its name; its kept jobs (pending, failed)
   * are cancelled and their bytes shredded: their ids, to audit.
   */
  removePrinter(name: string, at: Date): Promise<string[] | undefined>;

  saveDelivery(d: Omit<Delivery, 'status' | 'attempts' | 'updatedAt'> & { sealed: SealedBox }): Promise<void>;
  getDelivery(jobId: string): Promise<Delivery | undefined>;
  /**
   * Takes a job for sending (pending or failed → sending), so two processes never send it together.
   * Undefined when the job is unknown, delivered, expired, cancelled or being sent.
   */
  claimDelivery(jobId: string, at: Date): Promise<Delivery | undefined>;
  /** Says a job being sent is still being sent (its claim stays fresh through a long send). */
  touchDelivery(jobId: string, at: Date): Promise<void>;
  /**
   * Ends the 'sending' claims last touched before `staleBefore` (their process died mid-send; of one job,
   * or of all): failed, partly sent, with `error`. Their ids.
   */
  failAbandoned(at: Date, staleBefore: Date, error: string, jobId?: string): Promise<string[]>;
  /**
   * Ends a send: delivered shreds the bytes; failed keeps them for a retry. `partlySent`: bytes may have
   * reached paper, so the job keeps its print number and copy codes even once cancelled or expired.
   */
  finishDelivery(jobId: string, outcome: { status: 'delivered' | 'failed'; attempts: number; error?: string; partlySent?: boolean; at: Date }): Promise<void>;
  /**
   * Ends a kept job that must not be sent (pending or failed → cancelled), shredding its bytes; `reason`
   * becomes its last error. False when it was not kept (delivered, expired, cancelled, being sent).
   */
  cancelDelivery(jobId: string, reason: string, at: Date): Promise<boolean>;
  /** Newest first; `status` filters. */
  listDeliveries(filter: { status?: DeliveryStatus; limit: number }): Promise<Delivery[]>;
  /** Shreds the bytes of jobs never delivered and created before `before`; returns how many. */
  expireDeliveries(before: Date, at: Date, chunk?: number): Promise<number>;

  /**
   * An agent's hello: registers its printers for its client (new names), updates the ones it owns, takes
   * over ones another agent key of the same client owned while that agent is offline, and refuses names
   * held by a network printer, another client or an online agent. Its printers absent from the hello are
   * removed (the hello is the agent's whole list), and their kept jobs cancelled as by removePrinter.
   */
  registerAgentPrinters(agent: { key: string; client: string }, printers: AgentPrinterSpec[], at: Date, onlineSince: Date): Promise<{ printers: AgentRegistration[]; cancelledJobs: string[] }>;
  /** Marks an agent's printers as seen now (connected), or offline (`at` undefined). */
  markAgentSeen(key: string, at: Date | undefined): Promise<void>;
  /** The oldest pending jobs for these printers of this client (or of no client: an admin's). */
  pendingDeliveries(printers: string[], client: string, limit: number): Promise<Delivery[]>;
  /** Puts a failed job back in the queue (failed → pending), for an agent printer's retry; false otherwise. */
  requeueDelivery(jobId: string, at: Date): Promise<boolean>;
}

/** What an agent announces of a printer (never a connection). */
export interface AgentPrinterSpec {
  name: string;
  language: 'zpl' | 'tspl' | 'cpcl';
  dpi: 203 | 300;
  template?: string;
  barcodes: 'native' | 'raster';
  text: 'raster' | 'printer-font';
  font?: string;
}

export interface AgentRegistration {
  name: string;
  registered: boolean;
  reason?: string;
}
