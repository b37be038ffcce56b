// The print use case, in one straight line: number → seal → token → privacy view per copy → layout →
// sink; the store records the job only after every byte was handed over, so nothing is half-recorded.

import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/auditLog';
import { WaybillError, type Issue } from '../errors';
import type { Order } from '../order/orderSchema';
import { generateWaybillNo } from '../order/waybillNumber';
import type { LoadedTemplate } from '../layout/loadTemplate';
import { layoutWaybill } from '../layout/layoutWaybill';
import type { TextMetrics } from '../layout/textMeasure';
import type { CopyKind } from '../privacy/copyPolicy';
import { buildCopyView, type CopyView } from '../privacy/privacyView';
import type { CopyPrintRecord, PrintJobRecord, Store, WaybillRecord } from '../store/store';
import type { Keys } from '../vault/keyFile';
import { hashToken, newToken, tokenUrl } from '../vault/qrToken';
import { seal } from '../vault/sealing';
import { newCopyCode } from './copyCode';
import type { RelayProvider } from '../relay/relayProvider';
import type { RelayParty } from '../relay/relayStore';
import type { WaybillSink } from './waybillSink';

const DAY_MS = 86_400_000;

export interface PrintDeps {
  store: Store;
  audit: AuditLog;
  keys: Keys;
  scanBaseUrl: string;
  metrics: TextMetrics;
  /** Sealed data is shredded at the latest this many days after printing. */
  maxLifetimeDays: number;
  /** Relay numbers; without them the paper shows the masked phone and the carrier's service number. */
  relay?: { provider: RelayProvider; maxDays: number };
  now?: () => Date;
}

export interface PrintRequest {
  orders: Order[];
  template: LoadedTemplate;
  format: string;
  sink: WaybillSink;
  channel: PrintJobRecord['channel'];
  host: string;
  operator: string;
  /** Named in error messages, e.g. the order file. */
  source?: string;
}

export interface PrintSummary {
  jobId: string;
  waybills: { orderIndex: number; orderId: string; waybillNo: string }[];
  labels: number;
  warnings: string[];
}

/** What the vault keeps for a waybill: the whole order and its QR token, sealed together. */
export interface SealedContent {
  order: Order;
  token: string;
}

export async function printWaybills(deps: PrintDeps, req: PrintRequest): Promise<PrintSummary> {
  const now = (deps.now ?? (() => new Date()))();
  const job: PrintJobRecord = {
    id: randomUUID(),
    createdAt: now.toISOString(),
    channel: req.channel,
    templateId: req.template.id,
    format: req.format,
    host: req.host,
    operator: req.operator,
  };
  const numbers = await assignWaybillNumbers(deps.store, req.orders, req.source);

  const waybills: WaybillRecord[] = [];
  const copies: CopyPrintRecord[] = [];
  const bindings: string[] = [];
  const relayAlerts: string[] = [];
  const summary: PrintSummary = { jobId: job.id, waybills: [], labels: 0, warnings: [] };
  try {
    for (const [orderIndex, order] of req.orders.entries()) {
      const id = randomUUID();
      const waybillNo = numbers[orderIndex]!;
      const token = newToken();
      const content: SealedContent = { order, token };
      const relay = await bindRelay(deps, id, order, now, req.template.lang, bindings);
      if (relay.unavailable) {
        summary.warnings.push(`order ${orderIndex}: no relay number could be bound; the label shows the carrier's service number`);
        relayAlerts.push(`waybill ${waybillNo}: ${relay.unavailable}`);
      }
      waybills.push({
        id,
        waybillNo,
        carrier: order.carrier,
        orderId: order.orderId,
        ...(order.routingCode ? { routingCode: order.routingCode } : {}),
        createdAt: job.createdAt,
        status: 'created',
        purgeAfter: new Date(now.getTime() + deps.maxLifetimeDays * DAY_MS).toISOString(),
        tokenHash: hashToken(token, deps.keys.tokenKey),
        ...(relay.unavailable ? { relayUnavailable: true } : {}),
        sealed: seal(Buffer.from(JSON.stringify(content)), deps.keys.ring, id),
      });

      const facts = { order, waybillNo, qrUrl: tokenUrl(deps.scanBaseUrl, token), relay: relay.printed };
      const views = new Map<CopyKind, CopyView>();
      const copyCodes: Record<string, string> = {};
      for (const section of req.template.labels.flatMap((l) => l.sections)) {
        const copyCode = newCopyCode();
        copyCodes[section.copy] = copyCode;
        copies.push({ copyCode, jobId: job.id, waybillId: id, copy: section.copy, printNo: 1 });
        const print = { copy: section.copy, title: section.title, copyCode, printNo: 1, printedAt: now, lang: req.template.lang };
        views.set(section.copy, buildCopyView(facts, print, section.policy));
      }

      const layout = layoutWaybill(req.template, views, deps.metrics);
      await req.sink.add({ orderIndex, orderId: order.orderId, waybillNo, copyCodes }, layout);
      summary.waybills.push({ orderIndex, orderId: order.orderId, waybillNo });
      summary.labels += layout.labels.length;
      summary.warnings.push(...layout.warnings.map((w) => `order ${orderIndex}: ${w}`));
    }

    await req.sink.finish();
    await deps.store.savePrintJob(job, waybills, copies);
  } catch (e) {
    // Nothing of a failed print stays bound: its numbers were never on a recorded label.
    if (bindings.length) await deps.relay?.provider.release(bindings);
    throw e;
  }
  for (const detail of relayAlerts) await deps.store.recordAlert({ at: job.createdAt, kind: 'relay_unavailable', detail });
  for (const w of waybills)
    await deps.audit.append({
      at: job.createdAt,
      actor: `${job.channel}:${job.operator}@${job.host}`,
      action: 'print',
      waybillNo: w.waybillNo,
      outcome: 'ok',
      detail: { job: job.id, template: job.templateId, format: job.format, copies: req.template.copies.length },
    });
  return summary;
}

/** Binds relay numbers for both parties; says why when none could be had (never throws for the provider). */
async function bindRelay(
  deps: PrintDeps,
  waybillId: string,
  order: Order,
  now: Date,
  lang: 'zh' | 'en',
  bindings: string[],
): Promise<{ printed: Partial<Record<RelayParty, string>>; unavailable?: string }> {
  const printed: Partial<Record<RelayParty, string>> = {};
  if (!deps.relay) return { printed };
  const expiresAt = new Date(now.getTime() + deps.relay.maxDays * DAY_MS);
  const partyPhones = [order.recipient.phone, order.sender.phone];
  for (const party of ['recipient', 'sender'] as const) {
    try {
      const bound = await deps.relay.provider.bind({ waybillId, party, realPhone: order[party].phone, partyPhones, validFrom: now, expiresAt }, lang);
      if (!bound) return { printed, unavailable: 'relay pool exhausted' };
      bindings.push(bound.bindingId);
      printed[party] = bound.printed;
    } catch {
      return { printed, unavailable: 'relay provider failed' };
    }
  }
  return { printed };
}

/** Keeps given numbers (refusing ones already used) and generates the rest, unique in the store and batch. */
async function assignWaybillNumbers(store: Store, orders: Order[], file?: string): Promise<string[]> {
  const issues: Issue[] = [];
  const taken = new Set<string>();
  for (const [index, order] of orders.entries()) {
    if (!order.waybillNo) continue;
    if (taken.has(order.waybillNo) || (await store.waybillNoExists(order.waybillNo)))
      issues.push({ file, index, path: ['waybillNo'], message: 'waybill number is already used' });
    taken.add(order.waybillNo);
  }
  if (issues.length) throw new WaybillError('conflict', 'some waybill numbers are already used', issues);
  const numbers: string[] = [];
  for (const order of orders) {
    let no = order.waybillNo;
    while (!no) {
      const candidate = generateWaybillNo(order.carrier);
      if (!taken.has(candidate) && !(await store.waybillNoExists(candidate))) no = candidate;
    }
    taken.add(no);
    numbers.push(no);
  }
  return numbers;
}
