// `serve --workers`: the workers leave SQLite checkpoints (a stall of their event loop) to the primary,
// whose walCheckpoints copies the write-ahead log into the database file as it grows; a worker's own
// connection checkpoints only far beyond SQLite's usual mark, so without the primary the rows stay in the
// log and the database file does not grow.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sqliteDatabase } from '../../src/store/database';
import { prepared } from '../../src/store/prepared';
import { SqliteStore, walCheckpoints } from '../../src/store/sqliteStore';

const insertAlert = prepared((db, a: { detail: string }) => db.insertInto('alerts').values({ at: '2026-12-02T00:00:00.000Z', kind: 'filler', courier_id: null, detail: a.detail }));
const MB = 1 << 20;

/** About 8 MB of rows, one commit each, in rounds with a pause between (as a serving worker writes). */
async function writeRows(store: SqliteStore): Promise<void> {
  const d = sqliteDatabase(store.database);
  const detail = 'x'.repeat(2000);
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 200; i++) await d.run(insertAlert, { detail });
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
}

/** The database file's and the log's sizes after the rows were written. */
async function sizesAfterWriting(withPrimary: boolean): Promise<{ database: number; wal: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-wal-'));
  const file = path.join(dir, 'waybill.db');
  const worker = SqliteStore.open(file, { checkpoints: 'elsewhere' });
  const primary = withPrimary ? walCheckpoints(file) : undefined;
  try {
    await writeRows(worker);
    return { database: fs.statSync(file).size, wal: fs.statSync(`${file}-wal`).size };
  } finally {
    await primary?.stop();
    await worker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('WAL checkpoints of the embedded store under serve --workers', () => {
  it('are the primary’s: its checkpoints move the rows into the database file while they are written', async () => {
    const { database } = await sizesAfterWriting(true);
    expect(database).toBeGreaterThan(6 * MB);
  });

  it('are not the worker’s: without the primary every row is still in the log', async () => {
    const { database, wal } = await sizesAfterWriting(false);
    expect(database).toBeLessThan(MB);
    expect(wal).toBeGreaterThan(8 * MB);
  });
});
