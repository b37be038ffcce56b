// An order file as `waybill print` and `waybill preview` read it: a missing or unreadable file is a
// missing input (exit 66), not bad data; its bytes are then parsed and validated (src/order/readOrders.ts).

import fs from 'node:fs';
import path from 'node:path';
import type { Order } from '../order/orderSchema';
import { parseOrders } from '../order/readOrders';
import { NoInput } from './io';

/** `-` is standard input, as for other Unix tools: `wms-export | waybill print - --out labels.pdf`. */
export const STDIN = '-';

export function readOrderFile(file: string): Order[] {
  let bytes: Buffer;
  const name = file === STDIN ? 'stdin' : file;
  try {
    bytes = fs.readFileSync(file === STDIN ? 0 : file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NoInput(`${name}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not an order file' : `cannot be read (${code ?? 'error'})`}`);
  }
  return parseOrders(bytes, file === STDIN ? name : path.basename(file));
}
