// A waybill row's state and its binding (src/waybills/lifeBinding.ts) on either database: read back, and
// changed only from a state that still carries it, so the service never re-binds a state someone else wrote.

import type { Kysely, Selectable } from 'kysely';
import type { EventChange } from '../waybills/waybillStore';
import { lifeBinding, lifeHolds, type WaybillLife } from '../waybills/lifeBinding';
import { step, type Database, type Steps } from './database';
import { bindInPages } from './bindingPages';
import type { Schema } from './schema';

export const LIFE_COLUMNS = ['id', 'status', 'custodian', 'assigned_outlet', 'purge_after', 'after_sales', 'life_binding'] as const;
export type LifeRow = Pick<Selectable<Schema['waybills']>, (typeof LIFE_COLUMNS)[number]>;

function lifeOf(row: Omit<LifeRow, 'id' | 'life_binding'>): WaybillLife {
  return { status: row.status, custodian: row.custodian, assignedOutlet: row.assigned_outlet, purgeAfter: row.purge_after, afterSales: !!row.after_sales };
}

/** Whether a row's state is one the service wrote. */
export function rowLifeHolds(key: Buffer | undefined, row: LifeRow): boolean {
  return lifeHolds(key, row.id, lifeOf(row), row.life_binding);
}

/**
 * Moves a waybill from the state an event was decided on to the state `next` makes of it, with its new
 * binding. False (nothing changed) when the row is shredded, no longer in that state, or its state lacks
 * its binding: the caller reads it again, and then finds a rewritten row refused, or decides again.
 */
export function* changeLife(db: Kysely<Schema>, key: Buffer | undefined, waybillId: string, from: EventChange['from'], next: (now: WaybillLife) => WaybillLife): Steps<boolean> {
  const { rows } = yield* step(db.selectFrom('waybills').select([...LIFE_COLUMNS]).where('id', '=', waybillId).where('purged_at', 'is', null));
  const row = rows[0];
  if (!row || row.status !== from.status || (row.custodian ?? undefined) !== from.custodian || !rowLifeHolds(key, row)) return false;
  const life = next(lifeOf(row));
  // On the binding read: a change committed in between (another instance's event) changes nothing here.
  const { changes } = yield* step(
    db
      .updateTable('waybills')
      .set({
        status: life.status,
        custodian: life.custodian,
        assigned_outlet: life.assignedOutlet,
        purge_after: life.purgeAfter,
        after_sales: life.afterSales ? 1 : 0,
        life_binding: lifeBinding(key, waybillId, life),
      })
      .where('id', '=', waybillId)
      .where('life_binding', '=', row.life_binding!),
  );
  return changes === 1;
}

/** Binds the state of the waybills an earlier release made (migration 39); shredded ones open nothing and are left. */
export function bindUnboundLives(d: Database, key: Buffer | undefined): Promise<number> {
  return bindInPages(
    d,
    (after, limit) => d.db.selectFrom('waybills').select([...LIFE_COLUMNS]).where('life_binding', 'is', null).where('purged_at', 'is', null).where('id', '>', after).orderBy('id').limit(limit).execute(),
    (r) => d.db.updateTable('waybills').set({ life_binding: lifeBinding(key, r.id, lifeOf(r)) }).where('id', '=', r.id).where('life_binding', 'is', null),
  );
}
