// The attempt tables (scan attempts, couriers' event attempts, stations' verify attempts, telephony
// answers) and the alerts only ever get rows added, and are forgotten by age.

import type { Kysely } from 'kysely';
import type { Schema } from './schema';

type AttemptTable = 'scan_attempts' | 'event_attempts' | 'station_verifications' | 'telephony_answers' | 'alerts';

/**
 * The ids of those of the `limit` oldest rows (by id) made before `before`. Ids grow with time, so the
 * old rows lead, and a walk by id needs no index on time, which every scan would have to keep up. Fewer
 * than `limit` means the walk has reached rows still kept (one a little out of order waits for the next
 * sweep).
 */
export function oldestBefore(db: Kysely<Schema>, table: AttemptTable, before: string, limit: number) {
  const first = db.selectFrom(table).select(['id', 'at']).orderBy('id').limit(limit);
  return db.selectFrom(first.as('first')).select('first.id').where('first.at', '<', before);
}

/** Deletes those of the `limit` oldest rows made before `before` (oldestBefore); returns how many. */
export async function forgetOldest(db: Kysely<Schema>, table: AttemptTable, before: string, limit: number): Promise<number> {
  const result = await db.deleteFrom(table).where('id', 'in', oldestBefore(db, table, before, limit)).executeTakeFirst();
  return Number(result.numDeletedRows);
}
