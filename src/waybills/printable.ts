// The one rule for "may this waybill be put on paper?", used by every path that makes or sends a label:
// label fetch and its JSON view, reprint, printer send, and the retry of a kept print job.

import { WaybillError } from '../errors';
import type { WaybillRecord, WaybillStore } from './waybillStore';

/**
 * Why this waybill may not be printed now, or undefined when it may: a cancelled waybill is refused
 * (`cancelled`, 409); one purged, or whose time is up (e.g. delivered and past retention) before the
 * sweep shredded it, is `gone` (410).
 */
export function printRefusal(w: WaybillRecord, now: Date): 'cancelled' | 'gone' | undefined {
  if (!w.sealed || now.getTime() >= Date.parse(w.purgeAfter)) return 'gone';
  if (w.status === 'cancelled') return 'cancelled';
  return undefined;
}

export function assertPrintable(w: WaybillRecord, now: Date): void {
  const refusal = printRefusal(w, now);
  if (refusal) throw printRefused(refusal);
}

/** The error a label of a waybill that may not be printed is refused with. */
export function printRefused(refusal: 'cancelled' | 'gone'): WaybillError {
  return refusal === 'gone'
    ? new WaybillError('gone', 'this waybill is past its life; its data is destroyed')
    : new WaybillError('cancelled', 'this waybill is cancelled; it can no longer be printed');
}

/** Why a kept print job may not be sent (one of its waybills may not be printed), or undefined when it may. */
export async function jobPrintRefusal(store: WaybillStore, jobId: string, now: Date): Promise<WaybillError | undefined> {
  for (const w of await store.waybillsOfJob(jobId)) {
    const refusal = printRefusal(w, now);
    if (refusal === 'gone') return new WaybillError('gone', `print job ${jobId} holds a waybill past its life; it is not sent`);
    if (refusal === 'cancelled') return new WaybillError('cancelled', `print job ${jobId} holds a cancelled waybill; it is not sent (print the live waybills again)`);
  }
  return undefined;
}
