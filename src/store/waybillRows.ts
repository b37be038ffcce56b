// What the SQLite and PostgreSQL stores share: the waybill row shape and its mapping. Pure.

import type { WaybillRecord, WaybillStatus } from './store';

export interface WaybillRow {
  id: string;
  waybill_no: string;
  carrier: string;
  order_id: string;
  client_id: string | null;
  routing_code: string | null;
  created_at: string;
  token_hash: string;
  status: WaybillStatus;
  purge_after: string;
  purged_at: string | null;
  relay_unavailable: number | boolean; // SQLite 0/1, PostgreSQL boolean
  key_id: string;
  wrapped_key: Buffer | null;
  sealed: Buffer | null;
}

export function toWaybill(row: WaybillRow | undefined): WaybillRecord | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    waybillNo: row.waybill_no,
    carrier: row.carrier,
    orderId: row.order_id,
    ...(row.client_id ? { clientId: row.client_id } : {}),
    ...(row.routing_code ? { routingCode: row.routing_code } : {}),
    createdAt: row.created_at,
    tokenHash: row.token_hash,
    status: row.status,
    purgeAfter: row.purge_after,
    ...(row.purged_at ? { purgedAt: row.purged_at } : {}),
    ...(row.relay_unavailable ? { relayUnavailable: true } : {}),
    ...(row.wrapped_key && row.sealed ? { sealed: { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.sealed } } : {}),
  };
}
