// Versioned schema migrations, applied in order, each once. Add new versions (one file per feature is
// fine); never edit one that has shipped.

import { API_MIGRATION } from './apiMigration';
import { AUDIT_MIGRATION } from './auditMigration';
import { COURIER_MIGRATION } from './courierMigration';
import { LIFECYCLE_MIGRATION } from './lifecycleMigration';
import { PRINTER_MIGRATION } from './printerMigration';
import { RATE_MIGRATION } from './rateMigration';
import { RELAY_MIGRATION } from './relayMigration';
import { SCAN_INDEX_MIGRATION } from './scanIndexMigration';
import { TELEPHONY_MIGRATION } from './telephonyMigration';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'waybills, print jobs and printed copies',
    sql: `
      CREATE TABLE waybills (
        id          TEXT PRIMARY KEY,
        waybill_no  TEXT NOT NULL UNIQUE,
        carrier     TEXT NOT NULL,
        order_id    TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        token_hash  TEXT NOT NULL UNIQUE,
        key_id      TEXT NOT NULL,
        wrapped_key BLOB,
        sealed      BLOB
      );
      CREATE TABLE print_jobs (
        id          TEXT PRIMARY KEY,
        created_at  TEXT NOT NULL,
        channel     TEXT NOT NULL,
        template_id TEXT NOT NULL,
        format      TEXT NOT NULL,
        host        TEXT NOT NULL,
        operator    TEXT NOT NULL
      );
      CREATE TABLE copy_prints (
        copy_code   TEXT PRIMARY KEY,
        job_id      TEXT NOT NULL REFERENCES print_jobs(id),
        waybill_id  TEXT NOT NULL REFERENCES waybills(id),
        copy        TEXT NOT NULL,
        print_no    INTEGER NOT NULL,
        UNIQUE (waybill_id, copy, print_no)
      );
      CREATE INDEX copy_prints_waybill ON copy_prints(waybill_id);
    `,
  },
  LIFECYCLE_MIGRATION,
  AUDIT_MIGRATION,
  COURIER_MIGRATION,
  RELAY_MIGRATION,
  TELEPHONY_MIGRATION,
  API_MIGRATION,
  SCAN_INDEX_MIGRATION,
  PRINTER_MIGRATION,
  RATE_MIGRATION,
];
