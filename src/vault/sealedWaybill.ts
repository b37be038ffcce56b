// The sealed form of a waybill: the whole order and its QR token, encrypted together under the waybill's
// own data key (bound to its id). Printing seals it; reprints, the waybill view and courier scans open it.

import type { Order } from '../order/orderSchema';
import { unsealWithKeys, type Keys } from './keyFile';
import { seal, type SealedBox } from './sealing';

export interface SealedContent {
  order: Order;
  token: string;
}

export function sealWaybill(keys: Keys, waybillId: string, content: SealedContent): SealedBox {
  return seal(Buffer.from(JSON.stringify(content)), keys.ring, waybillId);
}

/** The sealed order and QR token of a live waybill. */
export function openSealedContent(keys: Keys, waybillId: string, sealed: SealedBox): SealedContent {
  return JSON.parse(unsealWithKeys(keys, sealed, waybillId).toString('utf8')) as SealedContent;
}
