// Audit records and their hash chain: who opened which waybill, when, for what purpose. Each record's
// hash covers its own fields and the previous record's hash, so editing, deleting or moving any record
// breaks the chain from that point on. Pure: no I/O, so every store can share it.

import { createHash, createHmac } from 'node:crypto';
import { WaybillError } from '../errors';

export const AUDIT_ACTIONS = ['create', 'print', 'reprint', 'view', 'scan', 'refuse', 'suspend', 'reinstate', 'purge', 'event', 'correct', 'courier_add', 'courier_revoke', 'key_create', 'key_revoke', 'key_rotate', 'call', 'deliver', 'printer_add', 'printer_remove', 'store_copy', 'audit_key', 'auth_throttle', 'webhook_add', 'webhook_remove', 'webhook_rotate', 'webhook_redeliver', 'station_arrival', 'station_verify', 'pairing_issue', 'device_pair', 'device_revoke', 'credential_bind', 'waybill_bind'] as const;
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
  /** The audit key whose HMAC-SHA256 is `hash`; absent for records written before keying (plain SHA-256). */
  keyId?: string;
}

/**
 * The audit keys, held outside the database (key file or environment; loaded by the vault layer).
 * Records are linked under the active key; older keys stay here so their records still verify.
 */
export interface AuditKeyRing {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
  /**
   * When the audit keys were made (key-file mode): every record appended from then on is keyed, so an
   * unkeyed record written after it was rewritten by someone without the key.
   */
  keyedSince?: string;
  /** Re-reads the keys (key-file mode), so a running service learns a key added by `keys rotate-audit`. */
  refresh?: () => void;
}

/** Where a keyed chain starts or changes key: a record of this action names the key it starts. */
export const KEY_CHANGE_ACTION = 'audit_key' satisfies AuditAction;

export type VerifyResult =
  | {
      ok: true;
      count: number;
      /** The first keyed record and the key of the last one, when the chain is keyed. */
      keyedFrom?: number;
      keyId?: string;
      /** The head that was verified (from the stored log's verify). */
      head?: AuditHead;
    }
  | {
      ok: false;
      /** Records that checked out before the problem was found. */
      count: number;
      /** The record where the problem is (for 'missing' and 'truncated': the first absent one). */
      seq: number;
      /** 'unverifiable': a record is linked under an audit key that is not loaded. */
      problem: Problem;
      message: string;
    };

type Problem = 'edited' | 'missing' | 'reordered' | 'truncated' | 'unverifiable';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * sha256 (hex) over a canonical JSON text: keys in a fixed order, absent fields left out, detail keys
 * sorted. Written out by hand rather than left to JSON.stringify's key order, so a verifier in another
 * language (or a PostgreSQL store) can reproduce it byte for byte.
 */
export function hashRecord(seq: number, prevHash: string, entry: AuditEntry): string {
  return createHash('sha256').update(canonicalText(seq, prevHash, undefined, entry), 'utf8').digest('hex');
}

/**
 * A record's link: HMAC-SHA256 (hex) under the audit key over the same canonical text, which then also
 * names the key, so nobody without the key (a database insider) can write a record that verifies.
 * Without a key: the plain hash of records written before keying.
 */
export function linkRecord(seq: number, prevHash: string, entry: AuditEntry, key?: { id: string; secret: Buffer }): string {
  if (!key) return hashRecord(seq, prevHash, entry);
  return createHmac('sha256', key.secret).update(canonicalText(seq, prevHash, key.id, entry), 'utf8').digest('hex');
}

function canonicalText(seq: number, prevHash: string, keyId: string | undefined, entry: AuditEntry): string {
  const fields: [string, unknown][] = [
    ['seq', seq],
    ['prevHash', prevHash],
    ['keyId', keyId],
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
  return `{${parts.join(',')}}`;
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
  /** The key that links the head record (absent: not keyed yet). */
  keyId?: string;
}

/** The record that follows `head`: the entry's own fields only (so it equals the record read back), linked and hashed (under `key` when given). */
export function nextRecord(head: AuditHead, entry: AuditEntry, key?: { id: string; secret: Buffer }): AuditRecord {
  const seq = head.seq + 1;
  return { ...ownFields(entry), seq, prevHash: head.hash, hash: linkRecord(seq, head.hash, entry, key), ...(key ? { keyId: key.id } : {}) };
}

/** The record that starts `keyId`'s chain after `head`: keying starts here (from an unkeyed chain) or the key rotates. */
export function keyChangeEntry(head: AuditHead, keyId: string, at: string): AuditEntry {
  return {
    at,
    actor: 'system',
    action: KEY_CHANGE_ACTION,
    purpose: head.keyId === undefined ? 'keying starts' : 'key rotation',
    outcome: 'ok',
    detail: { keyId, from: head.keyId ?? UNKEYED },
  };
}

const UNKEYED = '-';

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
export function verifyChain(records: Iterable<AuditRecord>, head?: AuditHead, options?: WalkOptions): VerifyResult {
  const walk = new ChainWalk(head, options);
  for (const r of records) {
    const problem = walk.step(r);
    if (problem) return problem;
  }
  return walk.end();
}

/** A head kept outside the database (a signed checkpoint): record `seq` had link `link`, and the log held `count` records. */
export interface CheckpointClaim {
  seq: number;
  link: string;
  count: number;
  /** When it was taken, and where it is kept (file and line): for messages. */
  at: string;
  where: string;
}

export interface WalkOptions {
  /** Keys to check keyed links with; a keyed record whose key is not here cannot be verified. */
  keys?: AuditKeyRing;
  /** Heads recorded outside the database: the chain must reach each one and agree with it. */
  checkpoints?: readonly CheckpointClaim[];
}

/** verifyChain one record at a time, for a log read in slices: `step` each record in order, then `end`. */
export class ChainWalk {
  private count = 0;
  private prev: AuditHead = { seq: 0, hash: GENESIS_HASH };
  private keyedFrom: number | undefined;
  private readonly claims = new Map<number, CheckpointClaim[]>();
  private readonly furthest: CheckpointClaim | undefined;

  constructor(
    private readonly head?: AuditHead,
    private readonly options: WalkOptions = {},
  ) {
    for (const c of options.checkpoints ?? []) {
      this.claims.set(c.seq, [...(this.claims.get(c.seq) ?? []), c]);
      if (!this.furthest || c.seq > this.furthest.seq) this.furthest = c;
    }
  }

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
    // Once keyed, always keyed, and the key changes only at a key change record: otherwise whoever lacks
    // the key could rewrite the tail as plain hashes.
    if (r.keyId !== prev.keyId) {
      if (r.keyId === undefined) {
        return this.fail(r.seq, 'edited', `record ${r.seq} is not keyed, but the chain is keyed from record ${this.keyedFrom}: it was rewritten without the audit key`);
      }
      const d = r.detail;
      if (r.action !== KEY_CHANGE_ACTION || d?.keyId !== r.keyId || d?.from !== (prev.keyId ?? UNKEYED)) {
        return this.fail(r.seq, 'edited', `record ${r.seq} is linked under audit key ${r.keyId} without a key change record before it`);
      }
    }
    // An insider without the key can rewrite the whole chain as plain hashes (no key change record, nothing
    // keyed), which links; but not in a log whose records are dated after the audit keys were made.
    // Compared as times, not texts: '2026-12-01 03:00Z' sorts before '2026-12-01T…' as text; a date that
    // does not read as one counts as after.
    const since = this.options.keys?.keyedSince;
    if (r.keyId === undefined && since !== undefined && !(Date.parse(r.at) < Date.parse(since))) {
      return this.fail(r.seq, 'edited', `record ${r.seq} is not keyed, though it is dated after the audit keys were made (${since}): the log was rewritten with plain hashes`);
    }
    let key: { id: string; secret: Buffer } | undefined;
    if (r.keyId !== undefined) {
      const ring = this.options.keys;
      if (ring && !ring.keys.has(r.keyId)) ring.refresh?.();
      const secret = ring?.keys.get(r.keyId);
      if (!secret) {
        return this.fail(r.seq, 'unverifiable', `record ${r.seq} is linked under audit key ${r.keyId}, which is not loaded (key file, or WAYBILL_AUDIT_KEY / WAYBILL_PREVIOUS_AUDIT_KEYS)`);
      }
      key = { id: r.keyId, secret };
    }
    const selfOk = linkRecord(r.seq, r.prevHash, r, key) === r.hash;
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
    for (const c of this.claims.get(r.seq) ?? []) {
      if (c.link !== r.hash || c.count !== this.count + 1) {
        return this.fail(r.seq, 'edited', `record ${r.seq} disagrees with the checkpoint of ${c.at} (${c.where}): the log was rewritten after it`);
      }
    }
    this.prev = { seq: r.seq, hash: r.hash, ...(r.keyId !== undefined ? { keyId: r.keyId } : {}) };
    if (r.keyId !== undefined && this.keyedFrom === undefined) this.keyedFrom = r.seq;
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
    if (this.count > 0 && prev.keyId === undefined && head?.keyId !== undefined) {
      return this.fail(prev.seq, 'edited', `no record is keyed, though the recorded head names audit key ${head.keyId}: the log was rewritten with plain hashes`);
    }
    const c = this.furthest;
    if (c && c.seq > prev.seq) {
      return this.fail(
        prev.seq + 1,
        'truncated',
        `the log ends at record ${prev.seq} but the checkpoint of ${c.at} (${c.where}) saw record ${c.seq}: records were deleted, or an older copy of the database was restored`,
      );
    }
    return { ok: true, count: this.count, ...(this.keyedFrom !== undefined ? { keyedFrom: this.keyedFrom, keyId: prev.keyId! } : {}) };
  }

  private fail(seq: number, problem: Problem, message: string): VerifyResult {
    return { ok: false, count: this.count, seq, problem, message };
  }
}
