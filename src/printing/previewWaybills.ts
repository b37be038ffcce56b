// The preview: what the paper of a print would show, stamped 样张 / PREVIEW, and nothing else. It takes no
// store, no keys and no relay provider, so it cannot create a waybill, bind a relay number, issue a copy
// code, take a lease or write an audit record: everything a real print would make is a placeholder.

import { CARRIERS, type CarrierCode } from '../order/carriers';
import type { Order } from '../order/orderSchema';
import type { LoadedTemplate } from '../layout/loadTemplate';
import { layoutWaybill, SymbolCache, type WaybillLayout } from '../layout/layoutWaybill';
import type { TextMetrics } from '../layout/textMeasure';
import { watermarkLayout } from '../layout/watermark';
import type { CopyKind } from '../privacy/copyPolicy';
import type { Lang } from '../privacy/lang';
import { buildCopyView, type CopyView } from '../privacy/privacyView';
import { partyArea } from '../privacy/routingArea';
import type { WaybillSink } from './waybillSink';

/** The mark on every preview label, and what stands where a copy code would be. */
export const PREVIEW_MARK: Record<Lang, string> = { zh: '样张', en: 'PREVIEW' };
/** What the Code128 and the QR of a preview encode: no waybill number, no token, no URL. */
export const PREVIEW_SYMBOL = 'PREVIEW';

export interface PreviewDeps {
  metrics: TextMetrics;
  now?: () => Date;
}

export interface PreviewRequest {
  /** Validated orders (readOrders.ts): the same parsing and screening as a print. */
  orders: Order[];
  template: LoadedTemplate;
  sink: WaybillSink;
}

export interface PreviewSummary {
  waybills: number;
  labels: number;
  warnings: string[];
}

export async function previewWaybills(deps: PreviewDeps, req: PreviewRequest): Promise<PreviewSummary> {
  const now = (deps.now ?? (() => new Date()))();
  const { template } = req;
  const mark = PREVIEW_MARK[template.lang];
  const summary: PreviewSummary = { waybills: 0, labels: 0, warnings: [] };
  for (const [orderIndex, order] of req.orders.entries()) {
    const waybillNo = placeholderWaybillNo(order.carrier);
    const copyCodes: Record<string, string> = {};
    for (const section of template.labels.flatMap((l) => l.sections)) copyCodes[section.copy] = mark;
    // One stamped set per piece, like the print; every piece shows the placeholder number, as no child
    // number exists yet (the piece mark tells the sets apart).
    const of = order.parcel.pieces;
    const layout: WaybillLayout = { labels: [], shown: [], warnings: [] };
    const symbols = new SymbolCache();
    for (let no = 1; no <= of; no++) {
      // No relay binding: each party's phone shows as paper does without one (masked + carrier service number).
      const facts = { order, waybillNo, qrUrl: PREVIEW_SYMBOL, relay: {}, piece: { no, of, masterWaybillNo: waybillNo } };
      const views = new Map<CopyKind, CopyView>();
      for (const section of template.labels.flatMap((l) => l.sections)) {
        // Print 1: the first paper, so no reprint mark.
        const copyFacts = { copy: section.copy, title: section.title, copyCode: mark, printNo: 1, printedAt: now, lang: template.lang };
        views.set(section.copy, { ...buildCopyView(facts, copyFacts, section.policy), barcode: PREVIEW_SYMBOL });
      }
      const piece = watermarkLayout(layoutWaybill(template, views, deps.metrics, symbols), mark, deps.metrics);
      layout.labels.push(...piece.labels);
      layout.shown.push(...(of > 1 ? piece.shown.map((c) => ({ ...c, pieceNo: no })) : piece.shown));
      for (const w of piece.warnings) if (!layout.warnings.includes(w)) layout.warnings.push(w);
    }
    const areas = { sender: partyArea(order.sender.address, template.lang), recipient: partyArea(order.recipient.address, template.lang) };
    const pieces = of > 1 ? { pieces: Array.from({ length: of }, (_, i) => ({ pieceNo: i + 1, waybillNo, copyCodes })) } : {};
    await req.sink.add({ orderIndex, orderId: order.orderId, waybillNo, id: '', copyCodes, relay: {}, areas, ...pieces }, layout);
    summary.waybills++;
    summary.labels += layout.labels.length;
    summary.warnings.push(...layout.warnings.map((w) => `order ${orderIndex}: ${w}`));
  }
  await req.sink.finish();
  return summary;
}

/**
 * Where the waybill number goes: the carrier's number form with X for every digit (SFXXXXXXXXXXXXX), as
 * wide as a real one and matching no carrier's pattern. An order's own number is not shown either.
 */
export function placeholderWaybillNo(carrier: CarrierCode): string {
  const { prefix, randomDigits, checkDigit, suffix = '' } = CARRIERS[carrier].waybill.issued;
  return `${prefix}${'X'.repeat(randomDigits + (checkDigit ? 1 : 0))}${suffix}`;
}
