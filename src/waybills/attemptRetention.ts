// Scan attempts, couriers' event attempts and stations' verify attempts are the working set of rate
// limits and harvest detection, not the record of what happened: the audit log keeps every decision.
// Nothing deleted them, so they grew by a row per scan for ever (at 500 scans a second, 43 million rows
// a day). They are kept as long as a window reads them, then the sweep forgets them a chunk at a time.

import { inChunks } from '../eventLoop';
import type { StationStore } from '../stations/stationStore';
import { DAY_MS } from '../time';
import type { WaybillStore } from './waybillStore';

/**
 * The longest window that counts attempts is a day (a courier's distinct waybills, a waybill's wrong
 * pickup codes, a station's match); one more day covers clocks that differ between instances.
 */
const ATTEMPTS_KEPT_MS = 2 * DAY_MS;

/**
 * Rows per step, and at most per table and sweep. Attempts are indexed by courier, so a step's rows sit
 * on about as many index pages as rows: on a SQLite file 1,000 rows took 44 ms a step, 100 rows 2 ms.
 * The cap bounds a sweep (and the first one after a long-unswept store, before the service listens) to
 * about 1.5 s a table; a larger backlog drains over the next minutes, as fast as 500 scans a second add.
 */
const ATTEMPTS_CHUNK = 100;
const ATTEMPTS_PER_SWEEP = 30_000;

export interface AttemptRetentionDeps {
  store: Pick<WaybillStore, 'forgetAttempts'>;
  stations: Pick<StationStore, 'forgetVerifications'>;
}

/** Forgets alerts older than `keepDays`, a chunk at a time like the attempts; returns how many. */
export function forgetOldAlerts(store: Pick<WaybillStore, 'forgetAlerts'>, keepDays: number, now: Date): Promise<number> {
  const before = new Date(now.getTime() - keepDays * DAY_MS).toISOString();
  return inChunks((limit) => store.forgetAlerts(before, limit), ATTEMPTS_CHUNK, ATTEMPTS_PER_SWEEP);
}

/** Forgets the attempts no window reads any more; returns how many. */
export async function forgetOldAttempts(deps: AttemptRetentionDeps, now: Date): Promise<number> {
  const before = new Date(now.getTime() - ATTEMPTS_KEPT_MS).toISOString();
  const forget = (step: (limit: number) => Promise<number>) => inChunks(step, ATTEMPTS_CHUNK, ATTEMPTS_PER_SWEEP);
  return (
    (await forget((limit) => deps.store.forgetAttempts('scans', before, limit))) +
    (await forget((limit) => deps.store.forgetAttempts('events', before, limit))) +
    (await forget((limit) => deps.stations.forgetVerifications(before, limit)))
  );
}
