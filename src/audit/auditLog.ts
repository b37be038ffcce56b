// The audit log: append-only and hash-chained, behind an async interface so PostgreSQL can sit beside
// SQLite. Callers append what happened; investigators read by waybill or print job and verify the chain.

import type { AuditEntry, AuditRecord, VerifyResult } from './auditRecord';

export interface AuditLog {
  /** Adds one record at the end of the chain; returns it with its seq and hashes. */
  append(entry: AuditEntry): Promise<AuditRecord>;
  /** That waybill's records, oldest first. */
  forWaybill(waybillNo: string): Promise<AuditRecord[]>;
  /**
   * Records whose `detail.job` is this print job id, oldest first. Optional so that simple fakes need not
   * implement it; the SQLite log does.
   */
  forJob?(jobId: string): Promise<AuditRecord[]>;
  /** Walks the whole chain against the recorded head. */
  verify(): Promise<VerifyResult>;
}
