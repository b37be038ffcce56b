// What the API shows of an existing waybill: the masked fields a courier copy prints (relay numbers,
// masked names, routing area), never the QR token, and nothing personal once the waybill is purged.

import type { Masked } from '../privacy/masked';
import { DEFAULT_POLICIES } from '../privacy/copyPolicy';
import { buildCopyView, type TextField } from '../privacy/privacyView';
import { partyArea, type PartyArea } from '../privacy/routingArea';
import type { WaybillRecord } from '../waybills/waybillStore';
import type { Keys } from '../vault/keyFile';
import type { RelayProvider } from '../relay/relayProvider';
import { openWaybillSeal, type TamperDeps } from '../waybills/sealedRecord';

const SHOWN: TextField[] = ['service', 'routingCode', 'sender.name', 'sender.phone', 'sender.area', 'recipient.name', 'recipient.phone', 'recipient.area', 'parcel.weight', 'parcel.pieces', 'parcel.contents'];

export interface WaybillView {
  id: string;
  waybillNo: string;
  orderId: string;
  carrier: string;
  status: WaybillRecord['status'];
  createdAt: string;
  purgeAfter: string;
  purgedAt?: string;
  relayUnavailable: boolean;
  /** Absent once purged: the data behind it is destroyed. */
  shows?: Partial<Record<TextField, Masked>>;
  sender?: PartyArea;
  recipient?: PartyArea;
}

/** `childNos`: a multi-piece waybill's child numbers, which its paper shows too. */
export async function viewWaybill(
  deps: TamperDeps & { keys: Keys; relay?: RelayProvider; now: () => Date },
  w: WaybillRecord,
  actor: string,
  childNos: readonly string[] = [],
): Promise<WaybillView> {
  const base: WaybillView = {
    id: w.id,
    waybillNo: w.waybillNo,
    orderId: w.orderId,
    carrier: w.carrier,
    status: w.status,
    createdAt: w.createdAt,
    purgeAfter: w.purgeAfter,
    ...(w.purgedAt ? { purgedAt: w.purgedAt } : {}),
    relayUnavailable: Boolean(w.relayUnavailable),
  };
  if (!w.sealed) return base;
  const now = deps.now();
  const content = await openWaybillSeal(deps, { ...w, sealed: w.sealed }, actor, now.toISOString());
  const lang = content.order.recipient.address.country === 'CN' ? 'zh' : 'en';
  const relay = (await deps.relay?.printedFor(w.id, lang, now)) ?? {};
  const view = buildCopyView(
    {
      order: content.order,
      waybillNo: w.waybillNo,
      qrUrl: '',
      relay,
      ...(childNos.length ? { piece: { no: 1, of: childNos.length + 1, masterWaybillNo: w.waybillNo, numbers: [w.waybillNo, ...childNos] } } : {}),
    },
    { copy: 'courier', title: '', copyCode: '', printNo: 0, printedAt: now, lang },
    { ...DEFAULT_POLICIES.courier, qr: false },
  );
  const shows = Object.fromEntries(SHOWN.filter((f) => view.fields[f]).map((f) => [f, view.fields[f]]));
  return { ...base, shows, sender: partyArea(content.order.sender.address, lang), recipient: partyArea(content.order.recipient.address, lang) };
}
