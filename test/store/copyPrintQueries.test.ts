// A waybill's copies are found by copy_prints' unique key (waybill_id, copy, print_no, piece_no): every
// question asked by waybill seeks it, never walks the table. The table keeps no second index on
// waybill_id, which only slowed the inserts of every batch's save.

import { SqliteStore } from '../../src/store/sqliteStore';

const store = SqliteStore.open(':memory:');
afterAll(() => store.close());

/** The SQL of every statement the store prepares while `work` runs. */
async function statementsOf(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const prepare = store.database.prepare.bind(store.database);
  store.database.prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof store.database.prepare;
  try {
    await work();
  } finally {
    delete (store.database as Partial<typeof store.database>).prepare;
  }
  return seen;
}

function plan(sql: string): string[] {
  const nulls = Array.from(sql.matchAll(/\?/g), () => null);
  return (store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...nulls) as { detail: string }[]).map((r) => r.detail);
}

test("copy_prints has no index on waybill_id alone: its unique key leads with the waybill", () => {
  const indexes = store.database.prepare("SELECT name FROM pragma_index_list('copy_prints')").all() as { name: string }[];
  const leading = indexes.map(({ name }) => (store.database.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').all(name) as { name: string }[]).map((c) => c.name));
  expect(leading).toContainEqual(['waybill_id', 'copy', 'print_no', 'piece_no']);
  expect(leading).not.toContainEqual(['waybill_id']);
});

test("every question about a waybill's copies seeks copy_prints by the waybill", async () => {
  const statements = await statementsOf(async () => {
    await store.nextPrintNo('w');
    await store.copyCodesAt('w', 1);
    await store.keptJobsOf('w');
    await store.printsOf('w');
  });
  const byWaybill = statements.filter((sql) => /copy_prints/.test(sql) && /waybill_id" = \?/.test(sql));
  expect(byWaybill).toHaveLength(4);
  for (const sql of byWaybill) {
    const steps = plan(sql);
    expect(steps.filter((s) => /^SCAN (copy_prints|c)\b/.test(s))).toEqual([]);
    expect(steps).toContainEqual(expect.stringMatching(/^SEARCH (copy_prints|c) USING (COVERING )?INDEX sqlite_autoindex_copy_prints_\d \(waybill_id=\?/));
  }
});
