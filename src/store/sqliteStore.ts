// The embedded default database: one SQLite file (better-sqlite3, WAL), opened with its pragmas and
// migrated. SqliteStore is the waybill store on that file; its connection (`database`) is what the other
// repositories on the file are opened over (openStores.ts, tests, benches).

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations';
import { sqliteDatabase } from './database';
import { SqlWaybillRepository } from './waybillRepository';
import { OutboxWriter } from './webhookOutbox';
import { makeFolders } from '../folders';

/** The waybill store on one SQLite file, which it opens and migrates; `database` is the connection. */
export class SqliteStore extends SqlWaybillRepository {
  private constructor(readonly database: Database.Database) {
    // Its own waybill methods write unsealed outbox rows (benches, tests): the service's stores come from
    // openStores, which seals them.
    super(sqliteDatabase(database), new OutboxWriter());
  }

  /**
   * `checkpoints: 'elsewhere'`: another process (the `serve --workers` primary, walCheckpoints below) moves
   * the WAL into the database file; this connection does so itself only past WAL_SAFETY_PAGES.
   */
  static open(file: string, options: { checkpoints?: WalCheckpoints } = {}): SqliteStore {
    if (file !== ':memory:') {
      makeFolders(path.dirname(file), 0o700);
      // A new file is the owner's alone (its -wal and -shm take its mode), even in a folder others may read.
      try {
        fs.closeSync(fs.openSync(file, 'wx', 0o600));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // WAL keeps committed data safe from crashes; only a power cut may lose the last commits
    db.pragma('foreign_keys = ON');
    // What a shred, an expiry or a delete frees (sealed orders, real numbers, print jobs' bytes) is
    // overwritten with zeros, not left in the file's free space for a copy of the file to give back.
    db.pragma('secure_delete = ON');
    // The page cache (better-sqlite3 builds SQLite with 16 MB a connection) fills over a long print and its
    // save; 4 MB keeps the B-trees' upper pages, the file system's cache the rest. A 10,000-waybill print
    // peaked 13 MB lower (242–247 → 231–232 MB, three alternating runs) in the same time.
    db.pragma(`cache_size = -${PAGE_CACHE_KB}`);
    db.pragma('busy_timeout = 5000'); // for the migrations, which several starting processes may run at once
    applyMigrations(db);
    // From here on a write waits for another process's lock without blocking the event loop (database.ts).
    db.pragma('busy_timeout = 0');
    if (options.checkpoints === 'elsewhere') db.pragma(`wal_autocheckpoint = ${WAL_SAFETY_PAGES}`);
    return new SqliteStore(db);
  }

  /**
   * After shredding: the WAL still holds earlier images of the pages (sealed data included) until it is
   * written over; a checkpoint that truncates it drops them. Best effort: with a reader in the way
   * (another worker mid-query) it does what it can and the next sweep's tries again.
   */
  override async dropOldPages(): Promise<void> {
    this.database.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Closes the connection every store on this file shares. */
  override async close(): Promise<void> {
    this.database.close();
  }
}

/**
 * A checkpoint (the WAL's pages copied into the database file, with two fsyncs) runs inside whichever
 * commit crosses SQLite's 1,000-page mark and takes up to tens of milliseconds, during which that
 * process's event loop stands still. `serve --workers` moves it to the primary, which answers no
 * requests: every CHECKPOINT_EVERY_MS it checkpoints what it can without waiting for anyone (PASSIVE).
 * The workers keep a high mark of their own (WAL_SAFETY_PAGES), so the WAL stays bounded even if the
 * primary's checkpoints fall behind.
 */
const CHECKPOINT_EVERY_MS = 200;
const WAL_SAFETY_PAGES = 10_000;

/** Who checkpoints a connection's file: the connection itself (SQLite's default) or another process. */
export type WalCheckpoints = 'own' | 'elsewhere';

/** Checkpoints the file's WAL every CHECKPOINT_EVERY_MS until stopped (see above). */
export function walCheckpoints(file: string): { stop(): Promise<void> } {
  const store = SqliteStore.open(file);
  const timer = setInterval(() => {
    try {
      store.database.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // A round that fails (the file busy in a way PASSIVE does not wait for) is made up by the next.
    }
  }, CHECKPOINT_EVERY_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await store.close();
    },
  };
}

/** The page cache of each connection, in KiB. */
export const PAGE_CACHE_KB = 4000;

/** Applies the versioned migrations a database lacks; safe when several processes start at once. */
export function applyMigrations(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  for (const m of MIGRATIONS) {
    // IMMEDIATE takes the write lock first, so a second process starting at once waits, then skips.
    db.transaction(() => {
      if (isApplied.get(m.version)) return;
      db.exec(m.sql('sqlite'));
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }).immediate();
  }
}
