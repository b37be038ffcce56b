// The audit log: append-only and hash-chained. Callers append what happened; investigators read by
// waybill or print job and verify the chain. The chain (linking, hashing, checking) is worked out here;
// the repository (one for both databases, in src/store/) keeps the rows and the head.

import { WaybillError } from '../errors';
import { ChainWalk, HEAD_DELETED, checkEntry, nextRecord, type AuditEntry, type AuditHead, type AuditRecord, type VerifyResult } from './auditRecord';

export interface AuditLog {
  /** Adds one record at the end of the chain; returns it with its seq and hashes. */
  append(entry: AuditEntry): Promise<AuditRecord>;
  /** That waybill's records, oldest first. */
  forWaybill(waybillNo: string): Promise<AuditRecord[]>;
  /**
   * Records whose `detail.job` is this print job id, oldest first. Optional so that simple fakes need not
   * implement it; the stored log does.
   */
  forJob?(jobId: string): Promise<AuditRecord[]>;
  /** Walks the whole chain against the recorded head. */
  verify(): Promise<VerifyResult>;
}

/** Where the records and the head live. Callbacks run inside a transaction: they must await nothing but what they are given. */
export interface AuditRepository {
  /**
   * In one write transaction that holds the head against every other writer: reads the head (undefined
   * if its row is gone), stores the record `next` makes from it and moves the head to that record.
   */
  append(next: (head: AuditHead | undefined) => AuditRecord): Promise<AuditRecord>;
  /** Oldest first. */
  forWaybill(waybillNo: string): Promise<AuditRecord[]>;
  /** Records whose detail's `job` is this id, oldest first. */
  forJob(jobId: string): Promise<AuditRecord[]>;
  /** The head, then every record in seq order, all from one snapshot while others keep appending; `read` may stop early. */
  readChain<T>(read: (head: AuditHead | undefined, records: AsyncIterable<AuditRecord>) => Promise<T>): Promise<T>;
}

export class ChainedAuditLog implements Required<AuditLog> {
  constructor(private readonly repo: AuditRepository) {}

  async append(entry: AuditEntry): Promise<AuditRecord> {
    checkEntry(entry);
    return this.repo.append((head) => {
      if (!head) throw new WaybillError('internal', 'the audit head is missing');
      return nextRecord(head, entry);
    });
  }

  forWaybill(waybillNo: string): Promise<AuditRecord[]> {
    return this.repo.forWaybill(waybillNo);
  }

  forJob(jobId: string): Promise<AuditRecord[]> {
    return this.repo.forJob(jobId);
  }

  verify(): Promise<VerifyResult> {
    return this.repo.readChain(async (head, records) => {
      if (!head) return HEAD_DELETED;
      const walk = new ChainWalk(head);
      for await (const record of records) {
        const problem = walk.step(record);
        if (problem) return problem;
      }
      return walk.end();
    });
  }
}
