// Version 3: the hash-chained audit log and its head (last seq and hash, kept apart from the rows so that
// deleting the newest rows shows). Triggers refuse edits, deletes and out-of-line inserts, so only a
// writer who first drops them can tamper; the chain then shows what they did.

import type { Migration } from './index';

export const AUDIT_MIGRATION: Migration = {
  version: 3,
  name: 'audit log',
  sql: `
    CREATE TABLE audit_log (
      seq        INTEGER PRIMARY KEY,
      at         TEXT NOT NULL,
      actor      TEXT NOT NULL,
      action     TEXT NOT NULL,
      waybill_no TEXT,
      purpose    TEXT,
      outcome    TEXT NOT NULL,
      request_id TEXT,
      detail     TEXT,
      prev_hash  TEXT NOT NULL,
      hash       TEXT NOT NULL
    );
    CREATE INDEX audit_log_waybill_no ON audit_log(waybill_no);
    -- trace: from a copy code to its print job's records; the query must use this exact expression.
    CREATE INDEX audit_log_job ON audit_log(json_extract(detail, '$.job')) WHERE detail IS NOT NULL;

    CREATE TABLE audit_head (
      id   INTEGER PRIMARY KEY CHECK (id = 1),
      seq  INTEGER NOT NULL,
      hash TEXT NOT NULL
    );
    INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${'0'.repeat(64)}');

    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER audit_log_in_line BEFORE INSERT ON audit_log
      WHEN NEW.seq IS NOT (SELECT seq + 1 FROM audit_head WHERE id = 1)
        OR NEW.prev_hash IS NOT (SELECT hash FROM audit_head WHERE id = 1)
      BEGIN SELECT RAISE(ABORT, 'audit record does not follow the head'); END;
    CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
      WHEN NEW.id IS NOT OLD.id OR NEW.seq IS NOT OLD.seq + 1
        OR NEW.hash IS NOT (SELECT hash FROM audit_log WHERE seq = NEW.seq)
      BEGIN SELECT RAISE(ABORT, 'audit head only moves to the newest record'); END;
    CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
      BEGIN SELECT RAISE(ABORT, 'audit head cannot be deleted'); END;
  `,
};
