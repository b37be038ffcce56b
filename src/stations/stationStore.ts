// Where station arrivals and verify attempts live (one implementation for both databases, in src/store/).
// No row holds personal data: ids, numbers, pickup codes, times and outcomes.

import type { AuditRecord } from '../audit/auditRecord';
import { checkRows, type RowCheck } from '../auth/credentials';
import type { EventChange, NewAlert } from '../waybills/waybillStore';
import type { Shelf } from './station';

export interface Arrival {
  waybillId: string;
  stationId: string;
  pickupCode: string;
  day: string;
  arrivedAt: string;
}

export type VerifyOutcome = 'match' | 'no_match' | 'limited';

/** A station suspended for its wrong answers: its keys open nothing until an operator reinstates it. */
export interface StationSuspension {
  stationId: string;
  suspendedAt: string;
  reason: string;
}

/**
 * The stations the audit log has suspended and not reinstated, and those of them without their suspension
 * row: a row deleted in the database lifts a suspension that only the service may lift, and only the
 * log, which a database writer cannot change unnoticed, still says so (`waybill audit rows`).
 */
export async function suspensionsLifted(s: { audit: { stationSuspensions(): Promise<AuditRecord[]> }; stations: Pick<StationStore, 'suspensions'> }): Promise<RowCheck> {
  const [records, suspended] = [await s.audit.stationSuspensions(), await s.stations.suspensions()];
  const last = new Map<string, AuditRecord['action']>();
  for (const r of records) {
    const station = r.detail?.station;
    if (typeof station === 'string' && (r.action === 'reinstate' || r.outcome === 'suspended')) last.set(station, r.action);
  }
  const rows = new Set(suspended.map((x) => x.stationId));
  const onRecord = [...last].filter(([, action]) => action === 'suspend').map(([id]) => ({ id }));
  return checkRows(onRecord, (x) => rows.has(x.id));
}

export interface StationStore {
  /**
   * Records the arrival in one transaction: the waybill's custody moves (only if it is still in the state
   * the decision was made on: undefined otherwise), the `arrived` event, the arrival with the next pickup
   * code of this station and day, and the `waybill.arrived` webhook event carrying that code.
   */
  recordArrival(waybillId: string, change: EventChange, arrival: { stationId: string; day: string; shelf: Shelf }): Promise<string | undefined>;
  /** This station's latest arrival of this waybill. */
  arrivalOf(stationId: string, waybillId: string): Promise<Arrival | undefined>;
  /** This station's latest arrival under this pickup code (codes repeat on other days). */
  arrivalByCode(stationId: string, pickupCode: string): Promise<Arrival | undefined>;
  recordVerification(v: { stationId: string; waybillId: string | null; at: string; outcome: VerifyOutcome }): Promise<void>;
  /** Verify attempts of this station after `since` (every outcome counts against its rate). */
  verificationsSince(stationId: string, since: string): Promise<number>;
  /** Wrong answers about this waybill after `since`, from any station. */
  wrongSince(waybillId: string, since: string): Promise<number>;
  /** Wrong answers this station got after `since`, about any waybill or none. */
  wrongOfStationSince(stationId: string, since: string): Promise<number>;
  /** Suspends the station and raises the alert in one transaction; false if it was suspended already. */
  suspend(suspension: StationSuspension, alert: NewAlert): Promise<boolean>;
  suspension(stationId: string): Promise<StationSuspension | undefined>;
  suspensions(): Promise<StationSuspension[]>;
  /** Lifts a suspension; false if the station was not suspended. */
  reinstate(stationId: string): Promise<boolean>;
  /** Whether this station had a match for this waybill after `since`. */
  matchedSince(stationId: string, waybillId: string, since: string): Promise<boolean>;
  /** Deletes at most `limit` verify attempts made before `before`; returns how many. */
  forgetVerifications(before: string, limit: number): Promise<number>;
}
