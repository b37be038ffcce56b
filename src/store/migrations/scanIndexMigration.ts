// Version 8: scan attempts indexed by courier and time with the columns the limit queries read, so the
// daily counts come from the index alone instead of a table row per attempt.

import type { Migration } from './index';

export const SCAN_INDEX_MIGRATION: Migration = {
  version: 8,
  name: 'covering index for scan limits',
  sql: `
    CREATE INDEX scan_attempts_courier_at_cover ON scan_attempts(courier_id, at, outcome, waybill_id);
    DROP INDEX scan_attempts_courier_at;
  `,
};
