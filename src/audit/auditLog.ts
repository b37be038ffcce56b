// The audit log: append-only and hash-chained. Callers append what happened; investigators read by
// waybill or print job and verify the chain. The chain (linking, hashing, checking) is worked out here;
// the repository (one for both databases, in src/store/) keeps the rows and the head.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { WaybillError } from '../errors';
import {
  ChainWalk,
  HEAD_DELETED,
  checkEntry,
  keyChangeEntry,
  nextRecord,
  type AuditEntry,
  type AuditHead,
  type AuditKeyRing,
  type AuditRecord,
  type CheckpointClaim,
  type VerifyResult,
} from './auditRecord';

export interface AuditLog {
  /** Adds one record at the end of the chain; returns it with its seq and hashes. */
  append(entry: AuditEntry): Promise<AuditRecord>;
  /**
   * Adds these records in order, in one transaction of their own started at once, not at the next group
   * commit (a long print's records, after its save): all or none.
   */
  appendAll(entries: readonly AuditEntry[]): Promise<AuditRecord[]>;
  /**
   * These entries as records after whatever head the writing transaction finds, for a store that writes
   * them with the rows they record (WaybillStore.savePrintJob): both commit, or neither. Checks the
   * entries now.
   */
  chain(entries: readonly AuditEntry[]): AuditChain;
  /**
   * These entries as a save keeps them until appendPending takes them: each sealed under the audit key
   * to its job and place, so that a row a database writer adds, moves or edits is never appended (and
   * linked under the key) as the service's own.
   */
  keep(jobId: string, entries: readonly AuditEntry[]): string[];
  /**
   * Appends, `limit` to a transaction, the entries a save kept to append after it (WaybillStore.savePrintJob
   * `pending`): of one print job, or of any (the sweep, after a crash between a save and its records).
   * Returns how many. Optional so that simple fakes need not implement it; the stored log does.
   */
  appendPending?(limit: number, jobId?: string): Promise<number>;
  /** That waybill's records, oldest first. */
  forWaybill(waybillNo: string): Promise<AuditRecord[]>;
  /**
   * Records whose `detail.job` is this print job id, oldest first. Optional so that simple fakes need not
   * implement it; the stored log does.
   */
  forJob?(jobId: string): Promise<AuditRecord[]>;
  /**
   * Walks the whole chain against the recorded head and, when given, against checkpoints (heads kept
   * outside the database); with them (even none) an intact result also names the head it verified.
   */
  verify(checkpoints?: readonly CheckpointClaim[]): Promise<VerifyResult>;
}

/** The head as a checkpoint states it: the last record's seq and link, its key, and how many records the log holds. */
export interface CheckpointHead extends AuditHead {
  count: number;
}

/** The records to store after a head (undefined: its row is gone), in order; the last becomes the head. */
export type AuditChain = (head: AuditHead | undefined) => AuditRecord[];

/** Where the records and the head live. Callbacks run inside a transaction: they must await nothing but what they are given. */
export interface AuditRepository {
  /**
   * In one write transaction that holds the head against every other writer: reads the head (undefined
   * if its row is gone), stores the records `next` makes from it, in order, and moves the head to the last.
   * Returns the last one; writes nothing (and returns undefined) when `next` returns no record.
   */
  append(next: AuditChain): Promise<AuditRecord | undefined>;
  /**
   * The head and the number of records, from one snapshot. Given the head of an earlier checkpoint, the
   * number is counted on from it (only the records after it are read): a log that lost records before it
   * then still shows the number it had, and verify finds the loss.
   */
  checkpointHead(after?: CheckpointHead): Promise<CheckpointHead | undefined>;
  /** Oldest first. */
  forWaybill(waybillNo: string): Promise<AuditRecord[]>;
  /**
   * In one transaction: takes up to `limit` entries a save kept (of this job, or of any), in order, and
   * stores the records `chainOf` makes of them after the head. Returns how many it took.
   */
  appendPending(limit: number, chainOf: (kept: KeptEntry[]) => AuditChain, jobId?: string): Promise<number>;
  /** Records whose detail's `job` is this id, oldest first. */
  forJob(jobId: string): Promise<AuditRecord[]>;
  /** The suspensions and reinstatements of parcel stations (records whose detail names a `station`), oldest first. */
  stationSuspensions(): Promise<AuditRecord[]>;
  /** The head, then every record in seq order, all from one snapshot while others keep appending; `read` may stop early. */
  readChain<T>(read: (head: AuditHead | undefined, records: AsyncIterable<AuditRecord>) => Promise<T>): Promise<T>;
}

/** An entry as kept with a save (AuditLog.keep): its job, its place in the job's trail, and its sealed text. */
export interface KeptEntry {
  jobId: string;
  idx: number;
  text: string;
}

/** Records a long print writes to one transaction after its save (and the sweep, of what a crash left kept). */
export const AUDIT_GROUP = 200;

/** At most this many records share one group commit (a bounded transaction). */
const MAX_GROUP = 256;

interface Waiting {
  entry: AuditEntry;
  resolve: (record: AuditRecord) => void;
  reject: (error: unknown) => void;
}

export class ChainedAuditLog implements Required<AuditLog> {
  /** Appends waiting for the next group commit, and whether one is under way. */
  private waiting: Waiting[] = [];
  private committing = false;

  /**
   * Without `keys` the log writes plain SHA-256 links (tests, tools on an unkeyed chain) and refuses to
   * append to a keyed chain. With them, each record's link is an HMAC under the active key; the first
   * append after the key changed (or on an unkeyed chain) first writes the record that starts its chain.
   */
  constructor(
    private readonly repo: AuditRepository,
    private readonly keys?: AuditKeyRing,
  ) {}

  /**
   * Group commit: the appends of one turn of the event loop (concurrent requests), and those made while a
   * commit is under way, go into one transaction, in order. Each promise resolves only once the
   * transaction holding its record has committed, so an answer sent after `await append` is never
   * without its record; a failed group is retried one record at a time, so one bad entry fails alone.
   */
  append(entry: AuditEntry): Promise<AuditRecord> {
    try {
      checkEntry(entry);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ entry, resolve, reject });
      if (this.waiting.length === 1 && !this.committing) setImmediate(() => void this.commitWaiting());
    });
  }

  private async commitWaiting(): Promise<void> {
    this.committing = true;
    try {
      while (this.waiting.length) await this.commitGroup(this.waiting.splice(0, MAX_GROUP));
    } finally {
      this.committing = false;
    }
  }

  private async commitGroup(group: Waiting[]): Promise<void> {
    let made: AuditRecord[];
    try {
      made = await this.appendLinked(group.map((w) => w.entry));
    } catch (e) {
      if (group.length === 1) return group[0]!.reject(e);
      for (const one of group) await this.commitGroup([one]);
      return;
    }
    group.forEach((w, i) => w.resolve(made[i]!));
  }

  async appendAll(entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
    entries.forEach(checkEntry);
    return entries.length ? this.appendLinked(entries) : [];
  }

  chain(entries: readonly AuditEntry[]): AuditChain {
    entries.forEach(checkEntry);
    return (head) => this.linkAll(head, entries).records;
  }

  keep(jobId: string, entries: readonly AuditEntry[]): string[] {
    entries.forEach(checkEntry);
    const keys = this.keys;
    const key = keys && { id: keys.activeKeyId, secret: keys.keys.get(keys.activeKeyId)! };
    return entries.map((entry, idx) => {
      const text = JSON.stringify(entry);
      return JSON.stringify(key ? { keyId: key.id, mac: keptMac(key.secret, jobId, idx, text), entry: text } : { entry: text });
    });
  }

  appendPending(limit: number, jobId?: string): Promise<number> {
    return this.repo.appendPending(limit, (kept) => this.chain(kept.map((k) => this.unkept(k))), jobId);
  }

  /**
   * A kept entry, if its seal holds; otherwise a record that one was refused (its job and place, never
   * its text), so the forgery shows in the job's trail instead of passing for the service's own.
   */
  private unkept({ jobId, idx, text }: KeptEntry): AuditEntry {
    try {
      const kept = JSON.parse(text) as { keyId?: unknown; mac?: unknown; entry?: unknown };
      if (typeof kept.entry === 'string') {
        const keys = this.keys;
        if (!keys) return JSON.parse(kept.entry) as AuditEntry;
        if (typeof kept.keyId === 'string' && typeof kept.mac === 'string') {
          if (!keys.keys.has(kept.keyId)) keys.refresh?.();
          const secret = keys.keys.get(kept.keyId);
          const expected = secret && Buffer.from(keptMac(secret, jobId, idx, kept.entry), 'hex');
          const given = Buffer.from(kept.mac, 'hex');
          if (expected && given.length === expected.length && timingSafeEqual(given, expected)) return JSON.parse(kept.entry) as AuditEntry;
        }
      }
    } catch {
      // not a kept entry at all: refused below
    }
    return { at: new Date().toISOString(), actor: 'system', action: 'refuse', outcome: 'unsealed_audit_entry', detail: { job: jobId, kept: idx } };
  }

  /** Stores the entries after the head in one transaction; returns each entry's record (not the key change records). */
  private async appendLinked(entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
    let made: AuditRecord[] = [];
    await this.repo.append((head) => {
      const linked = this.linkAll(head, entries);
      made = linked.made;
      return linked.records;
    });
    return made;
  }

  /** The records of these entries after the head, with a key change record first when the key changed; `made`: the entries' own. */
  private linkAll(head: AuditHead | undefined, entries: readonly AuditEntry[]): { records: AuditRecord[]; made: AuditRecord[] } {
    if (!head) throw new WaybillError('internal', 'the audit head is missing');
    const records: AuditRecord[] = [];
    const made: AuditRecord[] = [];
    let last = head;
    for (const entry of entries) {
      const linked = this.link(last, entry, true);
      records.push(...linked);
      const record = linked.at(-1)!; // link always returns the entry's record last
      made.push(record);
      last = { seq: record.seq, hash: record.hash, ...(record.keyId !== undefined ? { keyId: record.keyId } : {}) };
    }
    return { records, made };
  }

  /**
   * Starts the active key's chain now (after `keys rotate-audit`, or to mark where keying starts) instead
   * of at the next append. Returns the key change record, or undefined when the head already uses the key.
   */
  async startKey(at: string): Promise<AuditRecord | undefined> {
    if (!this.keys) throw new WaybillError('internal', 'no audit key is loaded');
    return this.repo.append((head) => {
      if (!head) throw new WaybillError('internal', 'the audit head is missing');
      return this.link(head, undefined, false, at);
    });
  }

  /** The records to store after `head`: a key change record when the key differs from the head's, then the entry's. */
  private link(head: AuditHead, entry: AuditEntry | undefined, refresh: boolean, at = entry?.at ?? new Date().toISOString()): AuditRecord[] {
    const keys = this.keys;
    if (!keys) {
      if (head.keyId !== undefined) throw new WaybillError('internal', `the audit chain is keyed (key ${head.keyId}) but no audit key is loaded`);
      return entry ? [nextRecord(head, entry)] : [];
    }
    // The head moved to a key this process does not know: another process rotated; learn it (rare path).
    if (refresh && head.keyId !== undefined && head.keyId !== keys.activeKeyId && !keys.keys.has(head.keyId)) keys.refresh?.();
    const active = { id: keys.activeKeyId, secret: keys.keys.get(keys.activeKeyId)! };
    const out: AuditRecord[] = [];
    let last = head;
    if (head.keyId !== active.id) {
      const change = nextRecord(head, keyChangeEntry(head, active.id, at), active);
      out.push(change);
      last = { seq: change.seq, hash: change.hash, keyId: active.id };
    }
    if (entry) out.push(nextRecord(last, entry, active));
    return out;
  }

  forWaybill(waybillNo: string): Promise<AuditRecord[]> {
    return this.repo.forWaybill(waybillNo);
  }

  forJob(jobId: string): Promise<AuditRecord[]> {
    return this.repo.forJob(jobId);
  }

  /** The suspensions and reinstatements of parcel stations on record, oldest first. */
  stationSuspensions(): Promise<AuditRecord[]> {
    return this.repo.stationSuspensions();
  }

  /** The head and record count, for a checkpoint. */
  checkpointHead(after?: CheckpointHead): Promise<CheckpointHead | undefined> {
    return this.repo.checkpointHead(after);
  }

  verify(checkpoints?: readonly CheckpointClaim[]): Promise<VerifyResult> {
    return this.repo.readChain(async (head, records) => {
      if (!head) return HEAD_DELETED;
      const walk = new ChainWalk(head, { ...(this.keys ? { keys: this.keys } : {}), ...(checkpoints?.length ? { checkpoints } : {}) });
      for await (const record of records) {
        const problem = walk.step(record);
        if (problem) return problem;
      }
      const result = walk.end();
      return result.ok && checkpoints ? { ...result, head } : result;
    });
  }
}

/** The seal of a kept entry: HMAC-SHA256 under an audit key over its job, its place and its text. */
function keptMac(secret: Buffer, jobId: string, idx: number, text: string): string {
  return createHmac('sha256', secret).update(`kept\n${jobId}\n${idx}\n${text}`, 'utf8').digest('hex');
}
