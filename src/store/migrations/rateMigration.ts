// Version 10: per-credential request rate buckets, in the database so every instance shares them.

import type { Migration } from './index';

export const RATE_MIGRATION: Migration = {
  version: 10,
  name: 'shared API request rate buckets',
  sql: `
    CREATE TABLE api_rate_buckets (
      bucket  TEXT PRIMARY KEY,
      tokens  REAL NOT NULL,
      at_ms   REAL NOT NULL,
      allowed INTEGER NOT NULL
    );
  `,
};
