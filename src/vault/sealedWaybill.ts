// The sealed form of a waybill: the whole order and its QR token, encrypted together under the waybill's
// own data key (bound to its id). Printing seals it; reprints, the waybill view and courier scans open it.

import type { Order } from '../order/orderSchema';
import { unsealWithKeys, type Keys } from './keyFile';
import { seal, type SealedBox } from './sealing';

export interface SealedContent {
  order: Order;
  token: string;
  /**
   * The row's own copies of what says whose and which waybill this is, sealed with it (absent in waybills
   * sealed by earlier releases): a row rewritten in the database no longer matches them (sealedRowMatches).
   */
  waybillNo?: string;
  clientId?: string | null;
}

export function sealWaybill(keys: Keys, waybillId: string, content: SealedContent): SealedBox {
  return seal(Buffer.from(JSON.stringify(content)), keys.ring, waybillId);
}

/** The sealed order and QR token of a live waybill. */
export function openSealedContent(keys: Keys, waybillId: string, sealed: SealedBox): SealedContent {
  return JSON.parse(unsealWithKeys(keys, sealed, waybillId).toString('utf8')) as SealedContent;
}

/**
 * Whether a waybill's row still says what was sealed with it: carrier, order id, and (for waybills sealed
 * since) number and client. The seal cannot be rewritten without the master key; the row can, by anyone
 * with write access to the database: a waybill moved to another client or carrier, or given another's
 * number, is refused where it is opened instead of shown to whoever the row now names.
 */
export function sealedRowMatches(row: { carrier: string; orderId: string; waybillNo: string; clientId?: string }, content: SealedContent): boolean {
  return (
    content.order.carrier === row.carrier &&
    content.order.orderId === row.orderId &&
    (content.waybillNo === undefined || content.waybillNo === row.waybillNo) &&
    (content.clientId === undefined || content.clientId === (row.clientId ?? null))
  );
}
