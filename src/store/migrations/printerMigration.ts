// Version 9: network printers and the delivery of print jobs to them (sealed bytes until delivered).

import type { Migration } from './index';

export const PRINTER_MIGRATION: Migration = {
  version: 9,
  name: 'printers and print deliveries',
  sql: `
    CREATE TABLE printers (
      name            TEXT PRIMARY KEY,
      host            TEXT NOT NULL,
      port            INTEGER NOT NULL,
      language        TEXT NOT NULL,
      dpi             INTEGER NOT NULL,
      template_id     TEXT,
      client_id       TEXT,
      zpl_compression TEXT NOT NULL,
      created_at      TEXT NOT NULL
    );
    CREATE TABLE print_deliveries (
      job_id       TEXT PRIMARY KEY REFERENCES print_jobs(id),
      printer      TEXT NOT NULL,
      client_id    TEXT,
      status       TEXT NOT NULL,
      attempts     INTEGER NOT NULL,
      last_error   TEXT,
      byte_length  INTEGER NOT NULL,
      created_at   TEXT NOT NULL,
      updated_at   TEXT NOT NULL,
      delivered_at TEXT,
      key_id       TEXT,
      wrapped_key  BLOB,
      body         BLOB
    );
    CREATE INDEX print_deliveries_status ON print_deliveries(status, created_at);
  `,
};
