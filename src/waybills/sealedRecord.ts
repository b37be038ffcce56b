// Opening a waybill's seal where its row may have been rewritten in the database: the row must still say
// what was sealed with it (sealedRowMatches), and its state must carry its binding (lifeBinding.ts), or the
// waybill is refused as if it were not there, with an alert and an audit record naming ids only.

import type { AuditLog } from '../audit/auditLog';
import { RefusalTally, TAMPERED_ROW_WINDOW_MS } from '../audit/refusalTally';
import { WaybillError } from '../errors';
import type { Keys } from '../vault/keyFile';
import { openSealedContent, sealedRowMatches, type SealedContent } from '../vault/sealedWaybill';
import type { WaybillRecord, WaybillStore } from './waybillStore';

export interface TamperDeps {
  store: Pick<WaybillStore, 'recordAlert'>;
  audit: Pick<AuditLog, 'append'>;
}

/** The sealed content of a waybill whose row still matches it; otherwise `not_found`, raised as above. */
export async function openWaybillSeal(deps: TamperDeps & { keys: Keys }, w: WaybillRecord & { sealed: NonNullable<WaybillRecord['sealed']> }, actor: string, at: string): Promise<SealedContent> {
  if (w.rewritten) throw await tamperedWaybill(deps, w, actor, at);
  const content = openSealedContent(deps.keys, w.id, w.sealed);
  if (!sealedRowMatches(w, content)) throw await tamperedWaybill(deps, w, actor, at);
  return content;
}

// Each refusal of a rewritten waybill is audited with its actor; its alert is raised once an hour per
// waybill and process, so a handheld or a script retrying cannot flood the alerts and the admins' webhooks.
const alerted = new RefusalTally(TAMPERED_ROW_WINDOW_MS);

/** Raises a waybill found rewritten (alert `waybill_tampered`, audit `refuse` / `record_tampered`); the error to answer. */
export async function tamperedWaybill(deps: TamperDeps, w: WaybillRecord, actor: string, at: string): Promise<WaybillError> {
  const what = w.rewritten ? 'its state lacks the binding the service writes with it' : 'it no longer matches its seal';
  const tally = alerted.take(w.id, new Date(at));
  const since = tally?.repeated ? ` (${tally.repeated} more refusals since the last alert)` : '';
  if (tally) await deps.store.recordAlert({ at, kind: 'waybill_tampered', detail: `waybill ${w.id}: its row was changed outside the service (${what}); refused${since}` });
  await deps.audit.append({ at, actor, action: 'refuse', outcome: 'record_tampered', detail: { waybill: w.id } });
  return new WaybillError('not_found', 'no such waybill');
}
