// The privacy view: a presenter that lists every field one copy may show, already masked. It is the
// only way order data reaches layout; a field the copy's policy does not allow is simply absent.

import type { Order, Party } from '../order/orderSchema';
import { CARRIERS } from '../order/carriers';
import type { CopyKind, CopyPolicy, PartyPolicy } from './copyPolicy';
import { asMasked, type Masked } from './masked';
import { maskName } from './maskName';
import { DEFAULT_PHONE_MASK, maskPhone, type PhoneMaskRule } from './maskPhone';
import { exposesPhone, printedWeight } from '../order/screenPrintedText';
import type { Lang } from './lang';
import { destinationZone, routingArea } from './routingArea';

export const TEXT_FIELDS = [
  'waybillNo',
  'carrier',
  'service',
  'serviceNumber',
  'routingCode',
  'copyTitle',
  'copyCode',
  'reprint',
  'printedOn',
  'sender.name',
  'sender.phone',
  'sender.area',
  'recipient.name',
  'recipient.phone',
  'recipient.area',
  'parcel.weight',
  'parcel.pieces',
  'parcel.contents',
  'piece',
  'masterWaybillNo',
] as const;
export type TextField = (typeof TEXT_FIELDS)[number];

export interface CopyView {
  copy: CopyKind;
  fields: Partial<Record<TextField, Masked>>;
  /** Code128 content: the waybill number. */
  barcode: string;
  /** QR content: the token URL, only on copies whose policy allows it. */
  qr?: string;
}

/** What is known about a waybill when it is printed. The order is plaintext; nothing here leaves unmasked. */
export interface WaybillFacts {
  order: Order;
  waybillNo: string;
  qrUrl: string;
  /**
   * The printed relay number (with extension) of each party that has a live binding. A party without one
   * shows its masked number and the carrier's service line where its copy's policy asks for a relay.
   */
  relay?: Partial<Record<'sender' | 'recipient', string>>;
  /**
   * Which piece of a multi-piece waybill this label set is (waybillNo is then that piece's number).
   * Piece numbers are no personal data: the carrier's numbers and a count.
   */
  piece?: PieceFacts;
}

export interface PieceFacts {
  /** 1..of; piece 1 carries the master number. */
  no: number;
  of: number;
  masterWaybillNo: string;
  /**
   * Every piece's number, master first (one array for all the pieces): the pieces travel together, so a
   * phone that one of their numbers gives away is hidden on all of them.
   */
  numbers?: readonly string[];
}

export interface CopyPrintFacts {
  copy: CopyKind;
  title: string;
  copyCode: string;
  printNo: number;
  printedAt: Date;
  lang: Lang;
}

/** The mark of the n-th reprint: print 2 (the second paper) is reprint 1. */
const REPRINT: Record<Lang, (n: number) => string> = {
  zh: (n) => `重印 第${n}次`,
  en: (n) => `REPRINT #${n}`,
};

const SERVICE: Record<Lang, Record<Order['service'], string>> = {
  zh: { standard: '标准快递', express: '特快', economy: '经济快递' },
  en: { standard: 'STANDARD', express: 'EXPRESS', economy: 'ECONOMY' },
};

export function buildCopyView(facts: WaybillFacts, print: CopyPrintFacts, policy: CopyPolicy): CopyView {
  const { order } = facts;
  const carrier = CARRIERS[order.carrier];
  const fields: Partial<Record<TextField, Masked>> = {
    waybillNo: asMasked(facts.waybillNo),
    carrier: asMasked(print.lang === 'zh' ? carrier.name : carrier.latinName),
    service: asMasked(SERVICE[print.lang][order.service]),
    serviceNumber: asMasked(carrier.serviceNumber),
    // Never blank: without a sorting code the zone shows where the parcel goes.
    routingCode: order.routingCode ? asMasked(order.routingCode) : destinationZone(order.recipient.address),
    copyTitle: asMasked(print.title),
    copyCode: asMasked(print.copyCode),
    reprint: asMasked(print.printNo > 1 ? REPRINT[print.lang](print.printNo - 1) : ''),
    printedOn: asMasked(print.printedAt.toISOString().slice(0, 10)),
    'parcel.weight': asMasked(`${printedWeight(order.parcel.weightKg)} kg`),
    'parcel.pieces': asMasked(String(order.parcel.pieces)),
    'parcel.contents': asMasked(order.parcel.contents ?? ''),
    // The piece mark "2/5"; a one-piece waybill shows its count as before. The master number only on
    // child pieces: piece 1 already shows it as its own number.
    piece: asMasked(facts.piece && facts.piece.of > 1 ? `${facts.piece.no}/${facts.piece.of}` : String(order.parcel.pieces)),
    masterWaybillNo: asMasked(facts.piece && facts.piece.no > 1 ? facts.piece.masterWaybillNo : ''),
  };
  for (const who of ['sender', 'recipient'] as const) {
    const hideAllDigits = phonesGivenAway(facts, print.lang)[who];
    Object.assign(fields, partyFields(who, order[who], policy[who], facts.relay?.[who], carrier.serviceNumber, print.lang, hideAllDigits));
  }
  return { copy: print.copy, fields, barcode: facts.waybillNo, ...(policy.qr ? { qr: facts.qrUrl } : {}) };
}

/** Per waybill, the same for all its copies and pieces: computed for its first. */
const givenAway = new WeakMap<object, Record<'sender' | 'recipient', boolean>>();

/**
 * Which parties' phones the waybill's printed text gives away beside their last 4 digits, so that no digit
 * of them is printed: text from the order and the numbers that holds much of a phone (a waybill number by
 * chance or by a client's choice, digits in the contents, a weight or a postal code below what refuses
 * them) is on every copy, and with the last 4 beside it the number would be (nearly) whole.
 */
function phonesGivenAway(facts: WaybillFacts, lang: Lang): Record<'sender' | 'recipient', boolean> {
  const key = facts.piece?.numbers ?? facts;
  let found = givenAway.get(key);
  if (found) return found;
  const { order } = facts;
  const printed = [
    facts.waybillNo,
    facts.piece?.masterWaybillNo,
    ...(facts.piece?.numbers ?? []),
    order.parcel.contents,
    order.routingCode,
    `${printedWeight(order.parcel.weightKg)} kg`,
    routingArea(order.sender.address, 'routing', lang),
    routingArea(order.recipient.address, 'routing', lang),
  ].filter((text): text is string => !!text);
  const exposed = (who: 'sender' | 'recipient') => {
    // As many digits as the copies show at most: a short number's mask shows fewer than 4 (maskPhone.ts).
    const shownLast = /\d*$/.exec(maskedOnce(order[who], DEFAULT_MASK_KEY, () => maskPhone(order[who].phone)))![0].length;
    return exposesPhone(printed, order[who].phone, shownLast);
  };
  givenAway.set(key, (found = { sender: exposed('sender'), recipient: exposed('recipient') }));
  return found;
}


function partyFields(
  who: 'sender' | 'recipient',
  party: Party,
  policy: PartyPolicy,
  relay: string | undefined,
  serviceNumber: string,
  lang: Lang,
  hideAllDigits: boolean,
): Partial<Record<TextField, Masked>> {
  const fields: Partial<Record<TextField, Masked>> = {
    [`${who}.name`]: policy.name === 'surname' ? maskedOnce(party, 'name', () => maskName(party.name)) : asMasked('***'),
  };
  const phone = phoneText(party, hideAllDigits ? { ...policy.phone, keepFirst: 0, keepLast: 0 } : policy.phone, relay, serviceNumber);
  if (phone !== undefined) fields[`${who}.phone`] = phone;
  if (policy.area !== 'none') fields[`${who}.area`] = routingArea(party.address, policy.area, lang);
  return fields;
}

function phoneText(party: Party, policy: PartyPolicy['phone'], relay: string | undefined, serviceNumber: string): Masked | undefined {
  if (policy.show === 'none') return undefined;
  const masked = () => maskedOnce(party, maskKey(policy), () => maskPhone(party.phone, policy));
  if (policy.show === 'relay') {
    if (relay) return asMasked(relay);
    // No binding: the masked number plus the carrier's service line, never the real number.
    return asMasked(`${masked()} / ${serviceNumber}`);
  }
  return masked();
}

const maskKey = (rule: PhoneMaskRule) => `phone ${rule.keepFirst} ${rule.keepLast}`;
const DEFAULT_MASK_KEY = maskKey(DEFAULT_PHONE_MASK);

/**
 * A party's masked name and phone, made once for all the copies of its waybill (parsing the number was
 * most of a view's cost). Kept with the party object, so for no longer than its order is.
 */
const maskedByParty = new WeakMap<Party, Map<string, Masked>>();

function maskedOnce(party: Party, key: string, mask: () => Masked): Masked {
  let masked = maskedByParty.get(party);
  if (!masked) maskedByParty.set(party, (masked = new Map()));
  let value = masked.get(key);
  if (value === undefined) masked.set(key, (value = mask()));
  return value;
}
