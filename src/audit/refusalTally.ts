// A refused principal that keeps asking (a suspended courier's handheld retrying, a suspended telephony
// client's PBX, a courier past its per-minute scans) tells an investigator nothing new after its first
// refusal. Each process records the first such refusal of an actor in a minute and counts the others into
// the next record (`detail.repeated`), so a loop of refused requests costs neither an audit record nor a
// database write apiece. Every refusal is still answered, and counted in the metrics.

import type { AuditLog } from './auditLog';

const WINDOW_MS = 60_000;
/** A row found changed outside the service (a credential, a waybill, a relay binding) raises its alert once an hour per process. */
export const TAMPERED_ROW_WINDOW_MS = 3_600_000;
/** Actors tracked at once; past it the longest-quiet one is forgotten (its uncounted repeats with it). */
const MAX_ACTORS = 10_000;

export class RefusalTally {
  private readonly last = new Map<string, { at: number; repeated: number }>();

  /** `windowMs`: how long after a record the same refusals are only counted (a minute unless said). */
  constructor(private readonly windowMs = WINDOW_MS) {}

  /**
   * Whether to record this refusal (of `key`: actor and reason) now, and how many alike went unrecorded
   * since its last record; undefined: within the minute of that record, counted only.
   */
  take(key: string, now: Date): { repeated: number } | undefined {
    const t = now.getTime();
    const seen = this.last.get(key);
    if (seen && t - seen.at < this.windowMs && t >= seen.at) {
      seen.repeated++;
      return undefined;
    }
    // Re-inserted, so the map's order is the order of last records: the first key is the longest quiet.
    this.last.delete(key);
    if (this.last.size >= MAX_ACTORS) this.last.delete(this.last.keys().next().value!);
    this.last.set(key, { at: t, repeated: 0 });
    return { repeated: seen?.repeated ?? 0 };
  }
}

/**
 * Records a suspended principal's refused request (`refuse`, outcome `suspended`), the first of each minute
 * per actor, with how many went unrecorded before it.
 */
export type SuspendedRefusals = (actor: string, requestId: string | undefined) => Promise<void>;

export function suspendedRefusals(audit: Pick<AuditLog, 'append'>, now: () => Date, tally: RefusalTally): SuspendedRefusals {
  return async (actor, requestId) => {
    const at = now();
    const taken = tally.take(`${actor}:suspended`, at);
    if (taken)
      await audit.append({ at: at.toISOString(), actor, action: 'refuse', outcome: 'suspended', ...(requestId ? { requestId } : {}), ...(taken.repeated ? { detail: { repeated: taken.repeated } } : {}) });
  };
}
