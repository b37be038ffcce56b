// What the SQLite and PostgreSQL audit logs share: the row shape, its mapping to records, and the
// entry cleaning that makes a returned record equal one read back. Pure; no database here.

import type { AuditAction, AuditEntry, AuditRecord } from '../audit/auditRecord';

export interface AuditRow {
  /** A number on SQLite; PostgreSQL returns its bigint as text. */
  seq: number | string;
  at: string;
  actor: string;
  action: string;
  waybill_no: string | null;
  purpose: string | null;
  outcome: string;
  request_id: string | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

export const COLUMNS = 'seq, at, actor, action, waybill_no, purpose, outcome, request_id, detail, prev_hash, hash';

/** A record's values in COLUMNS order, as both backends store them. */
export function auditValues(r: AuditRecord): unknown[] {
  return [r.seq, r.at, r.actor, r.action, r.waybillNo ?? null, r.purpose ?? null, r.outcome, r.requestId ?? null, r.detail === undefined ? null : JSON.stringify(r.detail), r.prevHash, r.hash];
}

/** The entry's own fields only, absent ones left out, so a returned record equals one read back. */
export function clean(entry: AuditEntry): AuditEntry {
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

export function toRecord(row: AuditRow): AuditRecord {
  return {
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor,
    action: row.action as AuditAction,
    ...(row.waybill_no !== null ? { waybillNo: row.waybill_no } : {}),
    ...(row.purpose !== null ? { purpose: row.purpose } : {}),
    outcome: row.outcome,
    ...(row.request_id !== null ? { requestId: row.request_id } : {}),
    ...(row.detail !== null ? { detail: parseDetail(row.detail) } : {}),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

// A detail that no longer parses was tampered with: keep the raw text, so the hash check reports it
// as edited instead of verification crashing.
function parseDetail(text: string): Record<string, string | number | boolean> {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, string | number | boolean>;
  } catch {
    // fall through
  }
  return { unreadable: text };
}
