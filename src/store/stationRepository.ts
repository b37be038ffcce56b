// Parcel-station arrivals and verify attempts on either database. An arrival is one transaction with the
// custody move, its event and its webhook event; the pickup sequence is the station-day's highest + 1,
// and a racing arrival at the same station (PostgreSQL) hits the UNIQUE and is tried again.

import type { Kysely, Selectable } from 'kysely';
import { pickupCode, stationCustodian, type Shelf } from '../stations/station';
import type { Arrival, StationStore, StationSuspension, VerifyOutcome } from '../stations/stationStore';
import type { EventChange, NewAlert } from '../waybills/waybillStore';
import { WaybillError } from '../errors';
import { isUniqueViolation, step, type Database } from './database';
import { forgetOldest } from './attemptTables';
import type { Schema } from './schema';
import { insertAlert } from './waybillRepository';
import { changeLife } from './waybillLife';
import type { OutboxWriter } from './webhookOutbox';

const TRIES = 5;

function toArrival(r: Selectable<Schema['station_arrivals']>): Arrival {
  return { waybillId: r.waybill_id, stationId: r.station_id, pickupCode: r.pickup_code, day: r.day, arrivedAt: r.arrived_at };
}

export class SqlStationRepository implements StationStore {
  constructor(
    private readonly d: Database,
    private readonly outbox: OutboxWriter,
    /** The token key, which binds each waybill's state (src/waybills/lifeBinding.ts). */
    private readonly key?: Buffer,
  ) {}

  async recordArrival(waybillId: string, change: EventChange, arrival: { stationId: string; day: string; shelf: Shelf }): Promise<string | undefined> {
    const { db } = this.d;
    const { outbox, key } = this;
    for (let tries = 1; ; tries++) {
      try {
        return await this.d.transaction(function* () {
          if (!(yield* changeLife(db, key, waybillId, change.from, (life) => ({ ...life, status: change.status, custodian: change.custodian ?? null })))) return undefined;
          yield* step(
            db.insertInto('waybill_events').values({ waybill_id: waybillId, type: change.type, at: change.at, actor: change.actor, detail: change.detail ? JSON.stringify(change.detail) : null }),
          );
          const { rows } = yield* step(
            db
              .selectFrom('station_arrivals')
              .select((eb) => eb.fn.max('seq').as('last'))
              .where('station_id', '=', arrival.stationId)
              .where('day', '=', arrival.day),
          );
          // Codes repeat from day to day, and parcels wait days: a code the station still holds a parcel
          // under (from an earlier day) is skipped, so a buyer's code finds their parcel, not a newer one's.
          const { rows: held } = yield* step(heldCodes(db, arrival.stationId));
          const taken = new Set(held.map((h) => h.pickup_code));
          let seq = Number(rows[0]?.last ?? 0) + 1;
          while (seq <= 9999 && taken.has(pickupCode(arrival.shelf, seq))) seq++;
          if (seq > 9999) throw new WaybillError('limited', 'this station has used every pickup code of the day');
          const code = pickupCode(arrival.shelf, seq);
          yield* step(
            db.insertInto('station_arrivals').values({ waybill_id: waybillId, station_id: arrival.stationId, day: arrival.day, seq, pickup_code: code, arrived_at: change.at }),
          );
          // The client tells its buyer the code; the station is named, never a phone or a name.
          yield* outbox.waybill(db, waybillId, 'waybill.arrived', change.at, { station: arrival.stationId, pickupCode: code });
          return code;
        });
      } catch (e) {
        if (!isUniqueViolation(e) || tries === TRIES) throw e;
      }
    }
  }

  async arrivalOf(stationId: string, waybillId: string): Promise<Arrival | undefined> {
    const row = await this.d.db
      .selectFrom('station_arrivals')
      .selectAll()
      .where('station_id', '=', stationId)
      .where('waybill_id', '=', waybillId)
      .orderBy('arrived_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toArrival(row);
  }

  async arrivalByCode(stationId: string, code: string): Promise<Arrival | undefined> {
    // The parcel the station holds under the code now (codes of earlier days' parcels recur).
    const row = await heldArrivals(this.d.db, stationId)
      .selectAll('a')
      .where('a.pickup_code', '=', code)
      .orderBy('a.day', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toArrival(row);
  }

  async recordVerification(v: { stationId: string; waybillId: string | null; at: string; outcome: VerifyOutcome }): Promise<void> {
    await this.d.db.insertInto('station_verifications').values({ station_id: v.stationId, waybill_id: v.waybillId, at: v.at, outcome: v.outcome }).execute();
  }

  verificationsSince(stationId: string, since: string): Promise<number> {
    return this.countSince({ station_id: stationId }, since);
  }

  wrongSince(waybillId: string, since: string): Promise<number> {
    return this.countSince({ waybill_id: waybillId, outcome: 'no_match' }, since);
  }

  wrongOfStationSince(stationId: string, since: string): Promise<number> {
    return this.countSince({ station_id: stationId, outcome: 'no_match' }, since);
  }

  /** Verify attempts after `since` matching every given column (counts are bigint text on PostgreSQL). */
  private async countSince(match: { station_id?: string; waybill_id?: string; outcome?: VerifyOutcome }, since: string): Promise<number> {
    let query = this.d.db.selectFrom('station_verifications').select((eb) => eb.fn.countAll<number | string>().as('n')).where('at', '>', since);
    for (const [column, value] of Object.entries(match) as [keyof typeof match, string][]) query = query.where(column, '=', value);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }

  suspend(s: StationSuspension, alert: NewAlert): Promise<boolean> {
    const { db } = this.d;
    // The first suspension wins (its time and reason stay); only it raises the alert, in its transaction.
    const { outbox } = this;
    return this.d.transaction(function* () {
      const { changes } = yield* step(
        db.insertInto('station_suspensions').values({ station_id: s.stationId, suspended_at: s.suspendedAt, reason: s.reason }).onConflict((oc) => oc.column('station_id').doNothing()),
      );
      if (changes !== 1) return false;
      yield* insertAlert(db, outbox, alert);
      return true;
    });
  }

  async suspension(stationId: string): Promise<StationSuspension | undefined> {
    const row = await this.d.db.selectFrom('station_suspensions').selectAll().where('station_id', '=', stationId).executeTakeFirst();
    return row && { stationId: row.station_id, suspendedAt: row.suspended_at, reason: row.reason };
  }

  async suspensions(): Promise<StationSuspension[]> {
    const rows = await this.d.db.selectFrom('station_suspensions').selectAll().orderBy('suspended_at').execute();
    return rows.map((r) => ({ stationId: r.station_id, suspendedAt: r.suspended_at, reason: r.reason }));
  }

  async reinstate(stationId: string): Promise<boolean> {
    const r = await this.d.db.deleteFrom('station_suspensions').where('station_id', '=', stationId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async matchedSince(stationId: string, waybillId: string, since: string): Promise<boolean> {
    const row = await this.d.db
      .selectFrom('station_verifications')
      .select('id')
      .where('station_id', '=', stationId)
      .where('waybill_id', '=', waybillId)
      .where('outcome', '=', 'match')
      .where('at', '>', since)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  forgetVerifications(before: string, limit: number): Promise<number> {
    return forgetOldest(this.d.db, 'station_verifications', before, limit);
  }
}

/** The arrivals of parcels the station still holds (not handed over, returned or gone). */
function heldArrivals(db: Kysely<Schema>, stationId: string) {
  return db
    .selectFrom('station_arrivals as a')
    .innerJoin('waybills as w', 'w.id', 'a.waybill_id')
    .where('a.station_id', '=', stationId)
    .where('w.custodian', '=', stationCustodian(stationId))
    .where('w.status', '=', 'picked_up');
}

function heldCodes(db: Kysely<Schema>, stationId: string) {
  return heldArrivals(db, stationId).select('a.pickup_code');
}
