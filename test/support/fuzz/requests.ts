// What a fuzz case sends, the world it runs in (credentials and one existing waybill), and the helpers the
// generators share to build requests and orders.

import fs from 'node:fs';
import path from 'node:path';
import { clone, type Obj } from './jsonPaths';
import type { Rng } from './rng';

export const KB = 1024;

export interface FuzzRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Statuses this case must get; without it only the general rules apply. */
  expect?: readonly number[];
  /** The client goes away: while its body is still uploading, or once the answer has begun. */
  abort?: 'upload' | 'response';
}

export interface World {
  warehouse: string;
  courier: string;
  telephony: string;
  waybillId: string;
  waybillNo: string;
}

export type Generator = { name: string; weight: number; make: (r: Rng, n: number, w: World) => FuzzRequest };

/** The sample orders (samples/orders.ndjson), the valid starting point of most cases. */
export const SAMPLES: Record<string, unknown>[] = fs
  .readFileSync(path.join(__dirname, '..', '..', '..', 'samples', 'orders.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Record<string, unknown>);

export const json = (body: unknown) => JSON.stringify(body);
export const auth = (credential: string) => ({ authorization: `Bearer ${credential}` });
export const jsonHeaders = (credential: string) => ({ ...auth(credential), 'content-type': 'application/json' });

/** A valid order (from the samples) with an order id no other case uses. */
export function validOrder(r: Rng, n: number): Obj {
  const o = clone(r.pick(SAMPLES)) as Obj;
  o.orderId = `FZ-${n}-${r.string(6)}`;
  return o;
}

/** A body that fails order validation quickly: no renders for cases that only fuzz headers or the query. */
export const invalidOrder = (r: Rng, n: number) => {
  const o = validOrder(r, n);
  delete o.carrier;
  return o;
};

export const ROUTES_WITH_BODY = (w: World) => [
  { path: '/v1/waybills', credential: w.warehouse },
  { path: '/v1/batches', credential: w.warehouse },
  { path: `/v1/waybills/${w.waybillId}/events`, credential: w.warehouse },
  { path: '/v1/relay/resolve', credential: w.telephony },
  { path: '/v1/relay/calls', credential: w.telephony },
];
