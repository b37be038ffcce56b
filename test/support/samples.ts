// The repository's sample orders as tests use them: every order of samples/orders.ndjson, and the
// domestic ZTO order most API tests start from.

import fs from 'node:fs';
import path from 'node:path';

export const SAMPLE_ORDERS: Record<string, unknown>[] = fs
  .readFileSync(path.join(__dirname, '..', '..', 'samples', 'orders.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A ZTO order from one mainland-China address to another. */
export const ZT_DOMESTIC = SAMPLE_ORDERS.find((o) => o.carrier === 'ZT' && (o.recipient as { address: { country: string } }).address.country === 'CN')!;
