// Version 2: the waybill's life (status, when its sealed data must go), courier scan attempts for rate
// limits and harvest detection, and alerts for operators.

import type { Migration } from './index';

export const LIFECYCLE_MIGRATION: Migration = {
  version: 2,
  name: 'waybill lifecycle, scan attempts, alerts',
  sql: `
    ALTER TABLE waybills ADD COLUMN routing_code TEXT;
    ALTER TABLE waybills ADD COLUMN status TEXT NOT NULL DEFAULT 'created';
    ALTER TABLE waybills ADD COLUMN purge_after TEXT;
    ALTER TABLE waybills ADD COLUMN purged_at TEXT;
    CREATE INDEX waybills_purge_after ON waybills(purge_after) WHERE purged_at IS NULL;
    CREATE TABLE waybill_events (
      id         INTEGER PRIMARY KEY,
      waybill_id TEXT NOT NULL REFERENCES waybills(id),
      type       TEXT NOT NULL,
      at         TEXT NOT NULL,
      actor      TEXT NOT NULL
    );
    CREATE TABLE scan_attempts (
      id         INTEGER PRIMARY KEY,
      courier_id TEXT NOT NULL,
      waybill_id TEXT,
      at         TEXT NOT NULL,
      outcome    TEXT NOT NULL
    );
    CREATE INDEX scan_attempts_courier_at ON scan_attempts(courier_id, at);
    CREATE TABLE alerts (
      id         INTEGER PRIMARY KEY,
      at         TEXT NOT NULL,
      kind       TEXT NOT NULL,
      courier_id TEXT,
      detail     TEXT NOT NULL
    );
  `,
};
