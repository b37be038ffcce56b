// Version 4: courier identities. A courier's credential is kept only as the SHA-256 of its secret, so
// a copy of this table lets nobody scan.

import type { Migration } from './index';

export const COURIER_MIGRATION: Migration = {
  version: 4,
  name: 'courier identities',
  sql: `
    CREATE TABLE couriers (
      id              TEXT PRIMARY KEY,
      carrier         TEXT NOT NULL,
      name            TEXT NOT NULL,
      outlet          TEXT NOT NULL,
      routes          TEXT NOT NULL, -- JSON array of routing-code prefixes; [] = no route restriction
      device          TEXT NOT NULL,
      credential_hash BLOB NOT NULL CHECK (length(credential_hash) = 32),
      created_at      TEXT NOT NULL,
      revoked_at      TEXT,
      suspended_at    TEXT,
      suspend_reason  TEXT
    );
  `,
};
