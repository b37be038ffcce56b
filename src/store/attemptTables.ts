// The attempt tables (scan attempts, couriers' event attempts, stations' verify attempts) only ever get
// rows added, and are forgotten by age (waybills/attemptRetention.ts).

import type { Kysely } from 'kysely';
import type { Schema } from './schema';

type AttemptTable = 'scan_attempts' | 'event_attempts' | 'station_verifications';

/**
 * The `limit` oldest rows by id. Ids grow with time, so the old rows lead; a walk by id needs no index
 * on time, which every scan would have to keep up.
 */
export function oldest(db: Kysely<Schema>, table: AttemptTable, limit: number) {
  return db.selectFrom(table).selectAll().orderBy('id').limit(limit);
}

/**
 * Deletes those of the `limit` oldest rows made before `before`. Fewer than `limit` means the walk has
 * reached rows still kept (a row a little out of order waits for the next sweep).
 */
export function forgetOldest(db: Kysely<Schema>, table: AttemptTable, before: string, limit: number) {
  const due = db.selectFrom(oldest(db, table, limit).as('first')).select('first.id').where('first.at', '<', before);
  return db.deleteFrom(table).where('id', 'in', due);
}
