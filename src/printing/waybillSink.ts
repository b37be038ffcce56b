// Where laid-out waybills go: a label renderer (PDF, or a raster as PNG, ZPL, TSPL or CPCL) or the JSON
// report of exactly what each copy shows.

import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { WaybillLayout } from '../layout/layoutWaybill';
import type { LabelRenderer } from '../render/renderer';
import type { PartyArea } from '../privacy/routingArea';

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
}

export interface WaybillSink {
  add(waybill: PrintedWaybill, layout: WaybillLayout): Promise<void>;
  finish(): Promise<void>;
}

export class LabelSink implements WaybillSink {
  constructor(private readonly renderer: LabelRenderer) {}

  async add(_waybill: PrintedWaybill, layout: WaybillLayout): Promise<void> {
    for (const label of layout.labels) await this.renderer.addLabel(label);
  }

  finish(): Promise<void> {
    return this.renderer.finish();
  }
}

/** A JSON array, one entry per waybill: per copy, the printed text of every field, barcode and QR payload. */
export class JsonSink implements WaybillSink {
  private count = 0;

  constructor(private readonly out: Writable) {}

  async add(waybill: PrintedWaybill, layout: WaybillLayout): Promise<void> {
    const entry = {
      orderIndex: waybill.orderIndex,
      orderId: waybill.orderId,
      waybillNo: waybill.waybillNo,
      sender: waybill.areas.sender,
      recipient: waybill.areas.recipient,
      copies: layout.shown.map((c) => ({ copy: c.copy, copyCode: waybill.copyCodes[c.copy], fields: c.fields, barcode: c.barcode, qr: c.qr, watermark: c.watermark })),
    };
    const text = (this.count++ === 0 ? '[\n' : ',\n') + JSON.stringify(entry, null, 2);
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async finish(): Promise<void> {
    this.out.end(this.count === 0 ? '[]\n' : '\n]\n');
    await once(this.out, 'finish');
  }
}
