// Reading the relay pool (/metrics, `waybill relay pool`) costs index entries, not rows: it counts held
// slots and live bindings over covering indexes, so a scrape stays cheap however many slots are held.

import { sqliteDatabase } from '../../src/store/database';
import { poolCounts } from '../../src/store/relayRepository';
import { SqliteStore } from '../../src/store/sqliteStore';

const store = SqliteStore.open(':memory:');
const { db } = sqliteDatabase(store.database);
afterAll(() => store.close());

test("the pool's reading counts held slots and live bindings from covering indexes alone", () => {
  const { sql, parameters } = poolCounts(db, ['+8617000001234', '+8617000001235'], '2026-12-06T00:00:00.000Z').compile();
  const steps = (store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[]).map((r) => r.detail);
  const reads = steps.filter((s) => /relay_(slots|bindings)/.test(s));
  expect(reads).toEqual([
    expect.stringMatching(/^SEARCH relay_slots USING COVERING INDEX relay_slots_number_held \(number=\? AND held_until>\?\)/),
    expect.stringMatching(/^SEARCH relay_bindings USING COVERING INDEX relay_bindings_live \(number=\? AND expires_at>\?\)/),
  ]);
});
