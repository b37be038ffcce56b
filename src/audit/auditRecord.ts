// Audit records and their hash chain: who opened which waybill, when, for what purpose. Each record's
// hash covers its own fields and the previous record's hash, so editing, deleting or moving any record
// breaks the chain from that point on. Pure: no I/O, so every store can share it.

import { createHash } from 'node:crypto';
import { WaybillError } from '../errors';

export const AUDIT_ACTIONS = ['create', 'print', 'reprint', 'view', 'scan', 'refuse', 'suspend', 'reinstate', 'purge', 'event', 'correct', 'courier_add', 'courier_revoke', 'key_create', 'key_revoke', 'key_rotate', 'call', 'deliver', 'printer_add', 'printer_remove', 'store_copy'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * What happened, as the caller states it. No field may hold personal data: actors are staff or system
 * identities, waybill numbers are printed on paper anyway, and `detail` carries ids, counts, codes and
 * flags only — never a name, phone number, address or token.
 */
export interface AuditEntry {
  at: string; // ISO 8601
  actor: string; // e.g. 'courier:<id>', 'cli:<user>@<host>', 'system'
  action: AuditAction;
  waybillNo?: string;
  purpose?: string;
  outcome: string; // e.g. 'ok', 'not_found', 'gone', 'forbidden', 'limited'
  requestId?: string;
  /** Non-personal facts only. Print and reprint records carry `job` (the print job id) so a copy code traces to them. */
  detail?: Record<string, string | number | boolean>;
}

export interface AuditRecord extends AuditEntry {
  seq: number; // 1, 2, 3 … with no gaps
  prevHash: string; // the previous record's hash; GENESIS_HASH for record 1
  hash: string;
}

export type VerifyResult =
  | { ok: true; count: number }
  | {
      ok: false;
      /** Records that checked out before the problem was found. */
      count: number;
      /** The record where the problem is (for 'missing' and 'truncated': the first absent one). */
      seq: number;
      problem: 'edited' | 'missing' | 'reordered' | 'truncated';
      message: string;
    };

export const GENESIS_HASH = '0'.repeat(64);

/**
 * sha256 (hex) over a canonical JSON text: keys in a fixed order, absent fields left out, detail keys
 * sorted. Written out by hand rather than left to JSON.stringify's key order, so a verifier in another
 * language (or a PostgreSQL store) can reproduce it byte for byte.
 */
export function hashRecord(seq: number, prevHash: string, entry: AuditEntry): string {
  const fields: [string, unknown][] = [
    ['seq', seq],
    ['prevHash', prevHash],
    ['at', entry.at],
    ['actor', entry.actor],
    ['action', entry.action],
    ['waybillNo', entry.waybillNo],
    ['purpose', entry.purpose],
    ['outcome', entry.outcome],
    ['requestId', entry.requestId],
  ];
  const parts = fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  if (entry.detail !== undefined) {
    const detail = Object.keys(entry.detail)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${JSON.stringify(entry.detail![k])}`);
    parts.push(`"detail":{${detail.join(',')}}`);
  }
  return createHash('sha256').update(`{${parts.join(',')}}`, 'utf8').digest('hex');
}

/**
 * Refuses an entry that could not be stored and read back exactly (its hash would then never verify):
 * an unknown action, a time that is not a date, a detail value that JSON cannot carry.
 */
export function checkEntry(entry: AuditEntry): void {
  if (!(AUDIT_ACTIONS as readonly string[]).includes(entry.action)) throw new WaybillError('internal', `unknown audit action "${String(entry.action)}"`);
  if (typeof entry.at !== 'string' || Number.isNaN(Date.parse(entry.at))) throw new WaybillError('internal', 'audit entry time is not a date');
  if (!entry.actor || !entry.outcome) throw new WaybillError('internal', 'audit entry needs an actor and an outcome');
  for (const [k, v] of Object.entries(entry.detail ?? {})) {
    const fine = typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!fine) throw new WaybillError('internal', `audit detail "${k}" must be a string, a finite number or a boolean`);
  }
}

/** The last seq and hash, recorded apart from the rows (seq 0 and GENESIS_HASH for an empty log). */
export interface AuditHead {
  seq: number;
  hash: string;
}

/** The record that follows `head`: the entry's own fields only (so it equals the record read back), linked and hashed. */
export function nextRecord(head: AuditHead, entry: AuditEntry): AuditRecord {
  const seq = head.seq + 1;
  return { ...ownFields(entry), seq, prevHash: head.hash, hash: hashRecord(seq, head.hash, entry) };
}

function ownFields(entry: AuditEntry): AuditEntry {
  return {
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    ...(entry.waybillNo !== undefined ? { waybillNo: entry.waybillNo } : {}),
    ...(entry.purpose !== undefined ? { purpose: entry.purpose } : {}),
    outcome: entry.outcome,
    ...(entry.requestId !== undefined ? { requestId: entry.requestId } : {}),
    ...(entry.detail !== undefined ? { detail: { ...entry.detail } } : {}),
  };
}

/** What verification reports when the head row itself is gone. */
export const HEAD_DELETED: VerifyResult = { ok: false, count: 0, seq: 0, problem: 'edited', message: 'the audit head was deleted' };

/**
 * Walks the chain in the order given (stores pass it ordered by seq) and reports the first problem.
 * `head` is the last seq and hash recorded apart from the rows; without it, deleting the newest rows
 * cannot be seen. A writer who can rewrite rows and head together can still rebuild the whole chain
 * from the edit on: compare the head with a copy kept elsewhere to rule that out.
 */
export function verifyChain(records: Iterable<AuditRecord>, head?: AuditHead): VerifyResult {
  const walk = new ChainWalk(head);
  for (const r of records) {
    const problem = walk.step(r);
    if (problem) return problem;
  }
  return walk.end();
}

/** verifyChain one record at a time, for a log read in slices: `step` each record in order, then `end`. */
export class ChainWalk {
  private count = 0;
  private prev: AuditHead = { seq: 0, hash: GENESIS_HASH };

  constructor(private readonly head?: AuditHead) {}

  /** The first problem, found at this record; undefined while the chain holds. */
  step(r: AuditRecord): VerifyResult | undefined {
    const { prev, head } = this;
    if (!Number.isSafeInteger(r.seq) || r.seq <= prev.seq) {
      return this.fail(r.seq, 'reordered', `record ${r.seq} comes after record ${prev.seq}: records are out of order`);
    }
    if (r.seq !== prev.seq + 1) {
      const gap = r.seq === prev.seq + 2 ? `record ${prev.seq + 1} is` : `records ${prev.seq + 1} to ${r.seq - 1} are`;
      return this.fail(prev.seq + 1, 'missing', `${gap} missing (deleted or renumbered)`);
    }
    // Before its hashes: a row past the head was never appended through the log, whatever its links say.
    if (head && r.seq > head.seq) {
      return this.fail(r.seq, 'edited', `record ${r.seq} lies past the recorded head (${head.seq}): it was added outside the audit log`);
    }
    const selfOk = hashRecord(r.seq, r.prevHash, r) === r.hash;
    const linkOk = r.prevHash === prev.hash;
    if (!selfOk && linkOk) return this.fail(r.seq, 'edited', `record ${r.seq} was changed after it was written`);
    // Both broken: a record written for another place in the chain (its seq is inside its hash) was moved here.
    if (!selfOk) return this.fail(r.seq, 'reordered', `record ${r.seq} does not belong here: moved from another place in the chain, or its link was edited`);
    // The record is whole but does not link: the one before it was rewritten and re-hashed.
    if (!linkOk) {
      return prev.seq === 0
        ? this.fail(r.seq, 'edited', 'record 1 does not start the chain: it was rewritten')
        : this.fail(prev.seq, 'edited', `record ${prev.seq} was rewritten: its hash no longer matches the link in record ${r.seq}`);
    }
    this.prev = { seq: r.seq, hash: r.hash };
    this.count++;
    return undefined;
  }

  /** The verdict once every record was stepped through without a problem. */
  end(): VerifyResult {
    const { prev, head } = this;
    if (head) {
      if (prev.seq < head.seq) {
        const what = head.seq === prev.seq + 1 ? `record ${head.seq} is` : `records ${prev.seq + 1} to ${head.seq} are`;
        return this.fail(prev.seq + 1, 'truncated', `the log ends at record ${prev.seq} but the head says ${head.seq}: ${what} gone`);
      }
      if (prev.hash !== head.hash) {
        return head.seq === 0
          ? this.fail(0, 'edited', 'the recorded head of an empty log was changed')
          : this.fail(head.seq, 'edited', `record ${head.seq} was rewritten: its hash does not match the recorded head`);
      }
    }
    return { ok: true, count: this.count };
  }

  private fail(seq: number, problem: 'edited' | 'missing' | 'reordered' | 'truncated', message: string): VerifyResult {
    return { ok: false, count: this.count, seq, problem, message };
  }
}
