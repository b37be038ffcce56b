// Version 7: the warehouse API — API keys with roles, the client (tenant) owning each waybill with its
// order ids unique per client, and idempotency keys with their sealed responses.

import type { Migration } from './index';

export const API_MIGRATION: Migration = {
  version: 7,
  name: 'api keys, waybill clients, idempotency keys',
  sql: `
    CREATE TABLE api_keys (
      id          TEXT PRIMARY KEY,
      name        TEXT NOT NULL,
      role        TEXT NOT NULL,
      client_id   TEXT,
      secret_hash BLOB NOT NULL,
      created_at  TEXT NOT NULL,
      revoked_at  TEXT
    );
    ALTER TABLE waybills ADD COLUMN client_id TEXT;
    CREATE UNIQUE INDEX waybills_client_order ON waybills(client_id, order_id) WHERE client_id IS NOT NULL;
    CREATE TABLE idempotency_keys (
      client_id    TEXT NOT NULL,
      key          TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      created_at   TEXT NOT NULL,
      completed_at TEXT,
      status       INTEGER,
      content_type TEXT,
      location     TEXT,
      key_id       TEXT,
      wrapped_key  BLOB,
      body         BLOB,
      PRIMARY KEY (client_id, key)
    );
    CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
  `,
};
