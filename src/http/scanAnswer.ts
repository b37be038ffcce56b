// The answer of a courier's scan (GET /v1/scan/{token}): the only answer that carries names, phones and
// addresses, so its shape is fixed here and the route builds it through this schema.

import { z } from 'zod';
import { ChineseAddress, InternationalAddress, Parcel } from '../order/orderSchema';
import { SCAN_PURPOSES } from '../waybills/scanAccess';
import { WAYBILL_STATUSES } from '../waybills/waybillStore';

const PartyDetails = z.strictObject({
  name: z.string().describe('the real name: the courier needs it at the door'),
  phone: z.string().describe("the number to dial: the relay number + extension, or the masked phone and the carrier's service line — never the real number"),
  dial: z
    .strictObject({ number: z.string(), extension: z.string().optional() })
    .describe("what a phone dials: the relay number (E.164) then, after a pause, the extension; or the carrier's service line"),
  address: z.union([ChineseAddress, InternationalAddress]).describe('the full address (mainland China: canonical divisions and their code)'),
});

export const ScanAnswer = z.strictObject({
  waybillNo: z.string(),
  carrier: z.string(),
  status: z.enum(WAYBILL_STATUSES),
  purpose: z.enum(SCAN_PURPOSES),
  recipient: PartyDetails,
  sender: PartyDetails.optional().describe('only for purpose=return'),
  parcel: Parcel,
  routingCode: z.string().optional(),
  validUntil: z.string().describe('ISO 8601: after this the token answers 410'),
});
