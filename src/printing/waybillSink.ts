// Where laid-out waybills go: a label renderer (PDF, or a raster as PNG, ZPL, TSPL or CPCL) or the JSON
// report of exactly what each copy shows.

import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { WaybillLayout } from '../layout/layoutWaybill';
import type { LabelRenderer } from '../render/renderer';
import type { PartyArea } from '../privacy/routingArea';
import { z } from 'zod';
import { CopyKind } from '../privacy/copyPolicy';
import { present } from '../validation/present';

export interface PrintedWaybill {
  orderIndex: number;
  orderId: string;
  waybillNo: string;
  id: string;
  /** Copy codes of this print; empty in a preview (nothing printed yet). */
  copyCodes: Record<string, string>;
  /** The relay numbers as printed, per party. */
  relay: Partial<Record<'recipient' | 'sender', string>>;
  /** Each party's area as printed, with its division code. */
  areas: Record<'sender' | 'recipient', PartyArea>;
  /**
   * A multi-piece waybill's pieces in order, each with its number (piece 1: the waybill's own) and the
   * copy codes of its copies; absent for one piece. `copyCodes` above are piece 1's.
   */
  pieces?: PrintedPiece[];
}

export interface PrintedPiece {
  pieceNo: number;
  waybillNo: string;
  copyCodes: Record<string, string>;
}

/** The copy code printed on one shown copy: its piece's, for a multi-piece waybill. */
export function copyCodeOf(waybill: PrintedWaybill, copy: { copy: string; pieceNo?: number }): string | undefined {
  const piece = copy.pieceNo !== undefined ? waybill.pieces?.[copy.pieceNo - 1] : undefined;
  return (piece ? piece.copyCodes : waybill.copyCodes)[copy.copy];
}

export interface WaybillSink {
  add(waybill: PrintedWaybill, layout: WaybillLayout): Promise<void>;
  finish(): Promise<void>;
  /**
   * False for a sink that reads only what each copy shows, never the drawing: its layouts size the
   * barcodes (their boxes checked as on paper) without encoding them. Absent: it draws.
   */
  readonly draws?: boolean;
}

/** Whether the sink draws its labels: one that does not say, does. */
export const drawsLabels = (sink: WaybillSink): boolean => sink.draws !== false;

export class LabelSink implements WaybillSink {
  constructor(private readonly renderer: LabelRenderer) {}

  async add(_waybill: PrintedWaybill, layout: WaybillLayout): Promise<void> {
    for (const label of layout.labels) await this.renderer.addLabel(label);
  }

  finish(): Promise<void> {
    return this.renderer.finish();
  }
}

/** One entry of a JSON batch or preview answer (the API document shows this schema; entries are built through it). */
export const DocumentEntry = z.strictObject({
  orderIndex: z.number().int().describe('the index of the order in the request'),
  orderId: z.string(),
  waybillNo: z.string().describe("in a preview: a placeholder in the carrier's number form, X for each digit (no number is assigned)"),
  sender: z.strictObject({ area: z.string(), areaCode: z.string().optional() }).describe('the area as printed, with the GB/T 2260 code in mainland China'),
  recipient: z.strictObject({ area: z.string(), areaCode: z.string().optional() }),
  pieces: z.array(z.strictObject({ pieceNo: z.number().int(), waybillNo: z.string() })).optional().describe('multi-piece only: every piece with its number'),
  copies: z.array(
    z.strictObject({
      copy: CopyKind,
      piece: z.number().int().optional().describe('multi-piece only'),
      copyCode: z.string().optional().describe('in a preview: 样张 (zh templates) or PREVIEW (en)'),
      fields: z.record(z.string(), z.string()).describe('every printed text field, as printed (masked)'),
      barcode: z.string().optional().describe('what the Code128 encodes (PREVIEW in a preview)'),
      qr: z.string().optional().describe('what the QR encodes (PREVIEW in a preview: no token, no URL)'),
      watermark: z.string().optional().describe('previews only: the mark stamped on the label, 样张 or PREVIEW'),
    }),
  ),
  warnings: z.array(z.string()).optional().describe('what the labels could not show as given (a character the font cannot draw, a field shortened to fit its box), by copy and field; absent when none'),
});

/** A JSON array, one entry per waybill: per copy, the printed text of every field, barcode and QR payload. */
export class JsonSink implements WaybillSink {
  readonly draws = false;
  private count = 0;

  constructor(private readonly out: Writable) {}

  async add(waybill: PrintedWaybill, layout: WaybillLayout): Promise<void> {
    const entry = present(DocumentEntry, {
      orderIndex: waybill.orderIndex,
      orderId: waybill.orderId,
      waybillNo: waybill.waybillNo,
      sender: waybill.areas.sender,
      recipient: waybill.areas.recipient,
      ...(waybill.pieces ? { pieces: waybill.pieces.map((p) => ({ pieceNo: p.pieceNo, waybillNo: p.waybillNo })) } : {}),
      copies: layout.shown.map((c) => ({ copy: c.copy, piece: c.pieceNo, copyCode: copyCodeOf(waybill, c), fields: c.fields, barcode: c.barcode, qr: c.qr, watermark: c.watermark })),
      ...(layout.warnings.length ? { warnings: layout.warnings } : {}),
    });
    const text = (this.count++ === 0 ? '[\n' : ',\n') + JSON.stringify(entry, null, 2);
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async finish(): Promise<void> {
    this.out.end(this.count === 0 ? '[]\n' : '\n]\n');
    await once(this.out, 'finish');
  }
}
