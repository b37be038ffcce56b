// Version 6: telephony clients (PBXs asking where a relay call goes), courier phones as keyed hashes
// (for the "registered couriers only" caller policy), and the relay-unavailable mark on waybills.

import type { Migration } from './index';

export const TELEPHONY_MIGRATION: Migration = {
  version: 6,
  name: 'telephony clients, courier phone hashes, relay-unavailable waybills',
  sql: `
    CREATE TABLE telephony_clients (
      id              TEXT PRIMARY KEY,
      name            TEXT NOT NULL,
      credential_hash BLOB NOT NULL,
      created_at      TEXT NOT NULL,
      revoked_at      TEXT
    );
    ALTER TABLE couriers ADD COLUMN phone_hash TEXT;
    CREATE INDEX couriers_phone_hash ON couriers(phone_hash) WHERE phone_hash IS NOT NULL;
    ALTER TABLE waybills ADD COLUMN relay_unavailable INTEGER NOT NULL DEFAULT 0;
  `,
};
