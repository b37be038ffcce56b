// The two statements every credential table shares for its binding (src/auth/credentials.ts): the rows not
// revoked (those an earlier release left without one are bound, every one is checked), and setting it where
// there is none.

import type { Kysely, Selectable } from 'kysely';
import type { Schema } from './schema';

type CredentialTable = 'api_keys' | 'couriers' | 'courier_devices' | 'telephony_clients';

/** Rows not revoked, bound or not. */
export async function liveRows<T extends CredentialTable>(db: Kysely<Schema>, table: T): Promise<Selectable<Schema[T]>[]> {
  // Typed once here: kysely gives a union of the four tables' rows for a table named by a type parameter.
  const rows: unknown[] = await db.selectFrom(table as CredentialTable).selectAll().where('revoked_at', 'is', null).execute();
  return rows as Selectable<Schema[T]>[];
}

/** Sets a row's binding where it has none. */
export async function bindRow(db: Kysely<Schema>, table: CredentialTable, id: string, binding: Buffer): Promise<void> {
  await db.updateTable(table).set({ binding }).where('id', '=', id).where('binding', 'is', null).execute();
}
