// A waybill's life: events move its status, delivery and cancellation bring its purge forward, and the
// purge sweep crypto-shreds sealed data whose time is up (PIPL Art. 47: delete when the purpose is met).

import { z } from 'zod';
import type { AuditLog } from '../audit/auditLog';
import { WaybillError } from '../errors';
import type { WaybillStore } from '../waybills/waybillStore';
import type { RelayProvider } from '../relay/relayProvider';
import { DAY_MS } from '../time';

/** `after_sales` (a complaint, an exchange) keeps the status but keeps the relay number reachable longer. */
export const WaybillEvent = z.object({ type: z.enum(['picked_up', 'delivered', 'returned', 'cancelled', 'after_sales']) }).strict();
export type WaybillEvent = z.infer<typeof WaybillEvent>;

export interface LifecycleDeps {
  store: WaybillStore;
  audit: AuditLog;
  retentionGraceDays: number;
  /** Relay bindings follow the waybill's life: delivery + after-sales, capped; cancellation ends them. */
  relay?: { provider: RelayProvider; afterSalesDays: number; maxDays: number };
  now: () => Date;
}

export async function recordWaybillEvent(
  deps: LifecycleDeps,
  req: { waybillNo: string; event: WaybillEvent; actor: string; requestId?: string; carrier?: string },
): Promise<{ waybillNo: string; status: string; purgeAfter: string }> {
  const waybill = await deps.store.findWaybillByNo(req.waybillNo);
  // A courier of another carrier learns nothing, not even that the number exists.
  if (!waybill || (req.carrier && req.carrier !== waybill.carrier)) throw new WaybillError('not_found', 'unknown waybill');
  if (!waybill.sealed) throw new WaybillError('gone', 'this waybill is past its life');
  if (waybill.status === 'cancelled') throw new WaybillError('conflict', 'this waybill is cancelled');
  const now = deps.now();
  const at = now.toISOString();
  const closes = req.event.type === 'delivered' || req.event.type === 'cancelled';
  const purgeAfter = closes ? new Date(now.getTime() + deps.retentionGraceDays * DAY_MS).toISOString() : undefined;
  const status = req.event.type === 'after_sales' ? waybill.status : req.event.type;
  await deps.store.recordEvent(waybill.id, { type: req.event.type, status, at, actor: req.actor }, purgeAfter);
  if (deps.relay) await followRelay(deps.relay, waybill.id, waybill.createdAt, req.event.type, now);
  await deps.audit.append({ at, actor: req.actor, action: 'event', waybillNo: waybill.waybillNo, outcome: req.event.type, requestId: req.requestId });
  const updated = (await deps.store.findWaybillByNo(req.waybillNo))!;
  return { waybillNo: updated.waybillNo, status: updated.status, purgeAfter: updated.purgeAfter };
}

async function followRelay(relay: NonNullable<LifecycleDeps['relay']>, waybillId: string, createdAt: string, type: WaybillEvent['type'], now: Date) {
  const cap = new Date(new Date(createdAt).getTime() + relay.maxDays * DAY_MS);
  const afterSales = new Date(Math.min(cap.getTime(), now.getTime() + relay.afterSalesDays * DAY_MS));
  if (type === 'cancelled') await relay.provider.end(waybillId, now);
  else if (type === 'delivered') await relay.provider.reschedule(waybillId, afterSales);
  else if (type === 'returned' || type === 'after_sales') await relay.provider.extend(waybillId, afterSales);
}

/**
 * Shreds every waybill whose time is up; returns how many this call shredded. Safe to run from several
 * places at once: each waybill is shredded, and its purge audited, by exactly one of them.
 */
export async function purgeDue(deps: LifecycleDeps, batch = 500): Promise<number> {
  let purged = 0;
  for (;;) {
    const at = deps.now().toISOString();
    const due = await deps.store.dueForPurge(at, batch);
    for (const w of due) {
      if (!(await deps.store.shred(w.id, at))) continue;
      await deps.audit.append({ at, actor: 'system', action: 'purge', waybillNo: w.waybillNo, outcome: 'shredded', detail: { status: w.status } });
      purged++;
    }
    if (due.length < batch) return purged;
  }
}
