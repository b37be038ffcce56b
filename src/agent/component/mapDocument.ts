// A print component document's standard waybill `data` (the Cainiao shape, which the PDD, Douyin and
// Kuaishou components share in plain form) mapped to our Order. Pure: no I/O, no clock. Problems come
// back as issues at the path of the field in `data` that caused them, never quoting a value.

import { z } from 'zod';
import { WaybillError, type Issue } from '../../errors';
import { Order } from '../../order/orderSchema';
import type { CarrierCode } from '../../order/carriers';
import { issuesFromZod } from '../../validation/zodIssues';

/** Platform carrier codes (cpCode) of the carriers we print for; our own codes are accepted as well. */
export const CP_CODES: Readonly<Record<string, CarrierCode>> = {
  ZTO: 'ZT',
  YTO: 'YT',
  STO: 'ST',
  YUNDA: 'YD',
  SF: 'SF',
  EMS: 'EMS',
  JD: 'JD',
  ZT: 'ZT',
  YT: 'YT',
  ST: 'ST',
  YD: 'YD',
};

const Text = z.string().trim().min(1, 'must not be empty');

/**
 * An optional field as warehouse systems fill it: null, "" or blanks where they have no value (a landline
 * only, no township) mean absent, not a mistake.
 */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === null || (typeof v === 'string' && v.trim() === '') ? undefined : v), schema.optional());

/** A number, also written as a decimal string ("1200"), as many systems serialise theirs. */
const numeric = (error: string) => z.preprocess((v) => (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), z.number({ error }));

const Address = z.strictObject({
  province: Text,
  city: Text,
  district: optional(Text),
  /** Township or sub-district (乡镇/街道): below the district, so sealed with the street. */
  town: optional(Text),
  detail: Text,
});

const Party = z.strictObject({
  name: Text,
  mobile: optional(Text),
  phone: optional(Text),
  address: Address,
});

// Routing data only (no person in it), and platforms add sub-fields freely: read what we print, keep the rest out.
const RoutingInfo = z.union([
  Text,
  z.looseObject({
    routeCode: optional(Text),
    sortation: optional(z.looseObject({ code: optional(Text), name: optional(z.string()) })),
  }),
]);

const PackageInfo = z.strictObject({
  id: optional(z.string()),
  /** Grams, as the platforms' waybill APIs give it. */
  weight: numeric('must be a number of grams'),
  volume: optional(numeric('must be a number')),
  /** Pieces (子母件): one label set per piece. */
  count: optional(numeric('must be a number of pieces')),
  items: optional(z.array(z.strictObject({ name: Text, count: optional(numeric('must be a number')) })).max(100)),
});

/** The fields we read; the rest of the standard data that changes nothing on our label is named so it is not "unknown". */
const WaybillData = z.strictObject({
  cpCode: Text,
  waybillCode: Text,
  sender: Party,
  recipient: Party,
  routingInfo: optional(RoutingInfo),
  packageInfo: PackageInfo,
  shippingOption: optional(z.looseObject({})),
  needEncrypt: optional(z.boolean()),
  parent: optional(z.boolean()),
});
type WaybillData = z.infer<typeof WaybillData>;

export type Path = (string | number)[];

/**
 * Where another platform's ciphertext sits in a content, if it does: we never decrypt, so such a
 * document is refused. Both shapes are seen: `encryptedData` beside `templateURL`, or inside `data`.
 */
export function encryptedDataPath(content: unknown): Path | undefined {
  if (typeof content !== 'object' || content === null) return undefined;
  if ('encryptedData' in content) return ['encryptedData'];
  const data = (content as { data?: unknown }).data;
  if (typeof data === 'object' && data !== null && 'encryptedData' in data) return ['data', 'encryptedData'];
  return undefined;
}

/** The label-relevant part of a document's data: the one content carrying a waybill code; custom areas are not printed. */
export function waybillContentIndex(contents: readonly unknown[]): number {
  const i = contents.findIndex((c) => typeof c === 'object' && c !== null && typeof (c as { data?: { waybillCode?: unknown } }).data?.waybillCode === 'string');
  return i < 0 ? 0 : i;
}

/** Maps standard waybill data to an order; throws `invalid_input` with issues at `data` paths. */
export function mapDocument(data: unknown): Order {
  const parsed = WaybillData.safeParse(data);
  if (!parsed.success) throw new WaybillError('invalid_input', 'the document data is not standard waybill data', issuesFromZod(parsed.error));
  const d = parsed.data;

  const issues: Issue[] = [];
  const carrier = CP_CODES[d.cpCode.toUpperCase()];
  if (!carrier) issues.push({ path: ['cpCode'], message: `not a carrier we print for; one of ${Object.keys(CP_CODES).slice(0, 7).join(', ')}` });
  for (const who of ['sender', 'recipient'] as const)
    if (!d[who].mobile && !d[who].phone) issues.push({ path: [who, 'mobile'], message: 'a mobile or phone is required' });
  const routing = routingCodeOf(d.routingInfo);
  if (issues.length) throw new WaybillError('invalid_input', 'the document data is not standard waybill data', issues);

  const input = {
    // One document is one waybill: its code is the natural key the service keeps order ids unique by.
    orderId: d.waybillCode,
    carrier,
    waybillNo: d.waybillCode,
    sender: party(d.sender),
    recipient: party(d.recipient),
    parcel: {
      weightKg: d.packageInfo.weight / 1000,
      ...(d.packageInfo.count !== undefined ? { pieces: d.packageInfo.count } : {}),
      ...(d.packageInfo.items?.length ? { contents: contentsOf(d.packageInfo.items) } : {}),
    },
    ...(routing ? { routingCode: routing.code } : {}),
  };
  const order = Order.safeParse(input);
  if (!order.success)
    throw new WaybillError('invalid_input', 'the document data does not make a valid order', issuesFromZod(order.error).map((i) => ({ ...i, path: dataPath(i.path, d, routing?.path) })));
  return order.data;
}

function party(p: WaybillData['sender']) {
  const a = p.address;
  return {
    name: p.name,
    phone: (p.mobile ?? p.phone)!,
    address: { country: 'CN', province: a.province, city: a.city, ...(a.district ? { district: a.district } : {}), street: a.town ? `${a.town}${a.detail}` : a.detail },
  };
}

/** Item names as the parcel's contents line, cut to what the contract takes (40 characters). */
function contentsOf(items: { name: string; count?: number }[]): string {
  return [...items.map((i) => i.name).join('、')].slice(0, 40).join('');
}

function routingCodeOf(info: WaybillData['routingInfo']): { code: string; path: Path } | undefined {
  if (info === undefined) return undefined;
  if (typeof info === 'string') return { code: info, path: ['routingInfo'] };
  if (info.routeCode) return { code: info.routeCode, path: ['routingInfo', 'routeCode'] };
  if (info.sortation?.code) return { code: info.sortation.code, path: ['routingInfo', 'sortation', 'code'] };
  return undefined;
}

/** An Order issue's path as the field of `data` it came from. */
function dataPath(path: Path, d: WaybillData, routingPath: Path = ['routingInfo']): Path {
  const [head, second, third] = path;
  switch (head) {
    case 'orderId':
    case 'waybillNo':
      return ['waybillCode'];
    case 'carrier':
      return ['cpCode'];
    case 'routingCode':
      return routingPath;
    case 'parcel':
      return ['packageInfo', second === 'contents' ? 'items' : second === 'pieces' ? 'count' : 'weight'];
    case 'sender':
    case 'recipient': {
      if (second === 'phone') return [head, d[head].mobile ? 'mobile' : 'phone'];
      if (second !== 'address') return [head, ...(second === undefined ? [] : ['name'])];
      if (third === 'street' || third === 'detail') return [head, 'address', 'detail'];
      return [head, 'address', ...(typeof third === 'string' && ['province', 'city', 'district'].includes(third) ? [third] : [])];
    }
    default:
      return [];
  }
}

/**
 * The order as the service's API takes it (its input shape): a parsed order carries the division code
 * and the phone extension apart, which the input contract does not accept as such.
 */
export function orderRequestBody(order: Order): Record<string, unknown> {
  const party = (p: Order['sender']) => {
    const { phoneExtension, ...rest } = p as Order['sender'] & { phoneExtension?: string };
    const address = { ...p.address } as Record<string, unknown>;
    delete address.areaCode;
    return { ...rest, phone: phoneExtension ? `${p.phone} 转 ${phoneExtension}` : p.phone, address };
  };
  return { ...order, sender: party(order.sender), recipient: party(order.recipient) };
}
