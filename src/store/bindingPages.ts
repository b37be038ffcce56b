// A table's bound rows walked page after page by id: binding, once, those an earlier release made before the
// table carried a binding (openStores.ts; each page in one transaction, each row only where it still has
// none), and checking them all (`waybill audit rows`).

import type { Compilable } from 'kysely';
import { checkRows, type RowCheck } from '../auth/credentials';
import { step, type Database } from './database';

const PAGE = 500;

/** Up to `limit` rows with ids above `after`, in id order. */
type Page<R> = (after: string, limit: number) => Promise<R[]>;

/** The pages `page` gives, each after the last id of the one before, until an empty one. */
async function* pages<R extends { id: string }>(page: Page<R>): AsyncGenerator<R[]> {
  for (let rows = await page('', PAGE); rows.length > 0; rows = await page(rows.at(-1)!.id, PAGE)) yield rows;
}

/** Binds the rows `page` gives (those owing a binding) with `bind(row)`, each page in one transaction; how many. */
export async function bindInPages<R extends { id: string }>(d: Database, page: Page<R>, bind: (row: R) => Compilable<unknown>): Promise<number> {
  let bound = 0;
  for await (const rows of pages(page)) {
    await d.transaction(function* () {
      for (const r of rows) yield* step(bind(r));
    });
    bound += rows.length;
  }
  return bound;
}

/** How many rows `page` walks and the ids of those whose binding does not hold. */
export async function checkInPages<R extends { id: string }>(page: Page<R>, holds: (row: R) => boolean): Promise<RowCheck> {
  const found: RowCheck = { checked: 0, rewritten: [], more: 0 };
  for await (const rows of pages(page)) checkRows(rows, holds, found);
  return found;
}
