// A courier's scans cost the same at the end of a long day as at its start: the questions asked of every
// scan ("opened this waybill today?") and of every pickup event ("scanned it for pickup?") seek the
// courier's attempts on that waybill instead of walking the courier's day.

import { sqliteDatabase } from '../../src/store/database';
import type { Prepared } from '../../src/store/prepared';
import { SqliteStore } from '../../src/store/sqliteStore';
import { scanGateOf, scannedFor } from '../../src/store/waybillRepository';

const store = SqliteStore.open(':memory:');
const { db } = sqliteDatabase(store.database);
afterAll(() => store.close());

function plan<A extends Record<string, unknown>>(statement: Prepared<A, unknown>, args: A): string[] {
  const { sql, parameters } = statement.bind(db, 'sqlite', args);
  return (store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[]).map((r) => r.detail);
}

test("the scan gate's per-minute count reads the courier's last minute, and its 'opened today' check seeks the waybill", () => {
  const steps = plan(scanGateOf, { courierId: 'c', waybillId: 'w', minuteAgo: '2026-12-04T00:00:00.000Z', dayAgo: '2026-12-03T00:01:00.000Z', cap: 30 });
  const reads = steps.filter((s) => /scan_attempts/.test(s));
  expect(reads).toHaveLength(2);
  expect(reads.some((s) => /\(courier_id=\? AND at>\?\)/.test(s))).toBe(true);
  expect(reads.some((s) => /\(courier_id=\? AND waybill_id=\? AND outcome=\? AND at>\?\)/.test(s))).toBe(true);
  expect(reads.every((s) => s.startsWith('SEARCH'))).toBe(true);
});

test("a pickup event's 'scanned for pickup' check seeks the courier's attempts on the waybill", () => {
  const reads = plan(scannedFor, { courierId: 'c', waybillId: 'w', purpose: 'pickup' }).filter((s) => /scan_attempts/.test(s));
  expect(reads).toEqual([expect.stringMatching(/^SEARCH scan_attempts USING .*\(courier_id=\? AND waybill_id=\?/)]);
});
