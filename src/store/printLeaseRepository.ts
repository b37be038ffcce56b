// Print leases on either database, and the sweep that ends dead runs. A client's concurrent batches are
// capped by UNIQUE (client_id, slot), never by a count then an insert. The sweep drops leases and the
// provisional relay bindings left without one in one transaction; a run's save (waybillRepository's
// savePrintJob) drops its lease and confirms its bindings in one transaction too, so either the save or
// the sweep wins, never half of each.

import type { PrintLease, PrintLeaseRepository } from '../printing/printLeases';
import type { RunLeaseRecord } from '../relay/relayStore';
import type { Kysely } from 'kysely';
import { step, type Database } from './database';
import { prepared } from './prepared';
import type { Schema } from './schema';
import { deleteStaged, STAGED_TABLES } from './waybillRepository';

/** Bound values per statement stay well under either database's limit. */
const SLICE = 500;

// Every create and print takes a lease: the statement is prepared (database.ts's shorter way); a
// create's first relay claim runs it in the claim's transaction (relayRepository.ts).
export const insertLease = prepared((db, r: LeaseRow) =>
  db.insertInto('print_leases').values({ id: r.id, client_id: r.client_id, slot: r.slot, host: r.host, pid: r.pid, output: r.output, started_at: r.started_at, expires_at: r.expires_at, streamed: r.streamed }),
);

/** A lease as its row when taken (not saved yet); slot null: no batch slot. */
type LeaseRow = Omit<Schema['print_leases'], 'saved_job' | 'streamed'> & { streamed: number };
export function leaseRow(lease: RunLeaseRecord & { output?: string }, slot: number | null = null): LeaseRow {
  return {
    id: lease.id,
    client_id: lease.clientId ?? null,
    slot,
    host: lease.host,
    pid: lease.pid,
    output: lease.output ?? null,
    started_at: lease.startedAt,
    expires_at: lease.expiresAt,
    streamed: lease.streamed ? 1 : 0,
  };
}

/**
 * Ends bindings whose numbers may be on paper though their waybill was never saved (a streamed run's):
 * no call goes through, the real number is shredded, and the slot stays in quarantine until `holdUntil`.
 */
export function* retireSteps(db: Kysely<Schema>, bindingIds: readonly string[], at: string, holdUntil: string) {
  for (let i = 0; i < bindingIds.length; i += SLICE) {
    const ids = bindingIds.slice(i, i + SLICE);
    yield* step(
      db
        .updateTable('relay_bindings')
        .set({ lease_id: null, expires_at: at, ended_at: at, quarantine_until: holdUntil, key_id: null, wrapped_key: null, sealed: null })
        .where('id', 'in', ids),
    );
    yield* step(db.updateTable('relay_slots').set({ held_until: holdUntil }).where('binding_id', 'in', ids));
  }
}

export class SqlPrintLeaseRepository implements PrintLeaseRepository {
  constructor(private readonly d: Database) {}

  async take(lease: PrintLease, slots: number | undefined, now: string): Promise<number | null | undefined> {
    const { db } = this.d;
    if (slots === undefined) {
      await this.d.run(insertLease, leaseRow(lease));
      return null;
    }
    const clientId = lease.clientId ?? null;
    return this.d.transaction(function* () {
      // A dead run's slot is free once its lease expired. The lease itself stays for the sweep, which
      // reads it to end its bindings (whether its run streamed).
      yield* step(db.updateTable('print_leases').set({ slot: null }).where('client_id', '=', clientId).where('slot', 'is not', null).where('expires_at', '<=', now));
      for (let slot = 0; slot < slots; slot++) {
        const { changes } = yield* step(
          db
            .insertInto('print_leases')
            .values(leaseRow(lease, slot))
            .onConflict((oc) => oc.columns(['client_id', 'slot']).doNothing()),
        );
        if (changes === 1) return slot;
      }
      return undefined;
    });
  }

  async renew(id: string, expiresAt: string): Promise<boolean> {
    const result = await this.d.db.updateTable('print_leases').set({ expires_at: expiresAt }).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async drop(id: string): Promise<void> {
    const { db } = this.d;
    await this.d.transaction(function* () {
      yield* step(db.deleteFrom('print_leases').where('id', '=', id));
      yield* deleteStaged(db, id);
    });
  }

  async onHost(host: string): Promise<Pick<PrintLease, 'id' | 'pid' | 'output' | 'savedJob'>[]> {
    const rows = await this.d.db.selectFrom('print_leases').select(['id', 'pid', 'output', 'saved_job']).where('host', '=', host).execute();
    return rows.map((r) => ({ id: r.id, pid: Number(r.pid), ...(r.output ? { output: r.output } : {}), ...(r.saved_job ? { savedJob: r.saved_job } : {}) }));
  }

  async sweep(now: string, dead: string[], holdUntil: string): Promise<{ leases: number; bindings: number; quarantined: number; staged: number }> {
    const { db } = this.d;
    return this.d.transaction(function* () {
      // The streamed runs among those ending, as their leases go (a flag is read, never compared in SQL).
      const streamed = new Set<string>();
      const ended = (rows: { id: string; streamed: number | boolean }[]) => {
        for (const r of rows) if (r.streamed) streamed.add(r.id);
        return rows.length;
      };
      let leases = ended((yield* step(db.deleteFrom('print_leases').where('expires_at', '<=', now).returning(['id', 'streamed']))).rows);
      for (let i = 0; i < dead.length; i += SLICE) leases += ended((yield* step(db.deleteFrom('print_leases').where('id', 'in', dead.slice(i, i + SLICE)).returning(['id', 'streamed']))).rows);
      // Provisional bindings whose run is over: a saved run cleared its lease_id with its waybills.
      const { rows } = yield* step(
        db
          .selectFrom('relay_bindings as b')
          .select(['b.id', 'b.lease_id'])
          .where('b.lease_id', 'is not', null)
          .where(({ not, exists, selectFrom }) => not(exists(selectFrom('print_leases as l').select('l.id').whereRef('l.id', '=', 'b.lease_id')))),
      );
      // A streamed run's numbers may be on its pages already: ended and quarantined, never a new buyer's.
      const onPaper = rows.filter((r) => streamed.has(r.lease_id!)).map((r) => r.id);
      yield* retireSteps(db, onPaper, now, holdUntil);
      const free = rows.filter((r) => !streamed.has(r.lease_id!));
      let bindings = 0;
      for (let i = 0; i < free.length; i += SLICE) {
        const part = free.slice(i, i + SLICE).map((r) => r.id);
        const { rows: gone } = yield* step(db.deleteFrom('relay_bindings').where('id', 'in', part).where('lease_id', 'is not', null).returning('id'));
        if (gone.length > 0) yield* step(db.deleteFrom('relay_slots').where('binding_id', 'in', gone.map((g) => g.id)));
        bindings += gone.length;
      }
      // Records staged by runs that are over: a dead run's, and any a saved run's clean-up left (its save moved them).
      let staged = 0;
      for (const table of STAGED_TABLES) {
        const { changes } = yield* step(
          db.deleteFrom(table).where(({ not, exists, selectFrom, ref }) => not(exists(selectFrom('print_leases as l').select('l.id').where('l.id', '=', ref(`${table}.lease_id`))))),
        );
        if (table === STAGED_TABLES[0]) staged = changes;
      }
      return { leases, bindings, quarantined: onPaper.length, staged };
    });
  }
}
