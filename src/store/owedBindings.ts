// Binding, once, the rows an earlier release made before their table carried a binding (openStores.ts):
// page after page by id, each page in one transaction, each row only where it still has none.

import type { Compilable } from 'kysely';
import { step, type Database } from './database';

const PAGE = 500;

/** `page(after)`: up to `limit` rows owing a binding with ids above `after`, in id order; `bind(row)`: its update. Returns how many. */
export async function bindInPages<R extends { id: string }>(d: Database, page: (after: string, limit: number) => Promise<R[]>, bind: (row: R) => Compilable<unknown>): Promise<number> {
  let bound = 0;
  for (let after = ''; ; ) {
    const rows = await page(after, PAGE);
    if (rows.length === 0) return bound;
    await d.transaction(function* () {
      for (const r of rows) yield* step(bind(r));
    });
    bound += rows.length;
    after = rows.at(-1)!.id;
  }
}
