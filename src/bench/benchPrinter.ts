// The in-process printer the benches drive: the bundled template and samples, an in-memory SQLite store,
// the chained audit log and, as in production, a relay pool (every waybill binds two numbers).

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { PACKAGE_ROOT } from '../config/config';
import { loadTemplate, type LoadedTemplate } from '../layout/loadTemplate';
import { fontMetrics } from '../layout/textMeasure';
import { parseOrders } from '../order/readOrders';
import type { Order } from '../order/orderSchema';
import { printWaybills } from '../printing/printWaybills';
import { JsonSink, LabelSink } from '../printing/waybillSink';
import { labelRenderer, type OutputFormat } from '../render/outputFormats';
import { SqliteStore } from '../store/sqliteStore';
import { ChainedAuditLog } from '../audit/auditLog';
import { SqlAuditRepository } from '../store/auditRepository';
import { CourierStore } from '../couriers/courierStore';
import { SqlCourierRepository } from '../store/courierRepository';
import { sqliteDatabase } from '../store/database';
import { SqlRelayRepository } from '../store/relayRepository';
import { OutboxWriter } from '../store/webhookOutbox';
import { RelayStore } from '../relay/relayStore';
import { PoolRelayProvider } from '../relay/poolRelayProvider';
import { parseRelayPool } from '../relay/relayPool';
import type { Keys } from '../vault/keyFile';

export interface BenchPrinter {
  template: LoadedTemplate;
  samples: Order[];
  keys: Keys;
  /** Prints the orders into one document; resolves with its bytes. */
  print(orders: Order[], format?: Exclude<OutputFormat, 'json'>, template?: LoadedTemplate): Promise<number>;
  /** Creates the orders' waybills and answers what each copy shows, as the API's JSON create does; resolves with the answer's bytes. */
  create(orders: Order[]): Promise<number>;
  close(): Promise<void>;
}

export function benchPrinter(templateId = 'cn-4copy'): BenchPrinter {
  const template = loadTemplate(path.join(PACKAGE_ROOT, 'templates'), templateId);
  const samples = parseOrders(fs.readFileSync(path.join(PACKAGE_ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');
  const store = SqliteStore.open(':memory:');
  const keys = { ring: { activeKeyId: 'bench', keys: new Map([['bench', randomBytes(32)]]) }, tokenKey: randomBytes(32) };
  // 4-digit extensions on 10 numbers.
  const provider = poolProvider(store, keys, Array.from({ length: 10 }, (_, i) => `+861700000000${i}`));
  const deps = {
    store,
    audit: new ChainedAuditLog(new SqlAuditRepository(sqliteDatabase(store.database))),
    relay: { provider, maxDays: 60 },
    keys,
    scanBaseUrl: 'https://scan.example.com',
    metrics: fontMetrics,
    maxLifetimeDays: 90,
  };
  const counted = () => {
    const out = new PassThrough();
    const counter = { out, bytes: 0 };
    out.on('data', (chunk: Buffer) => (counter.bytes += chunk.length));
    return counter;
  };
  return {
    template,
    samples,
    keys,
    async print(orders, format = 'pdf', t = template) {
      const c = counted();
      await printWaybills(deps, { orders, template: t, format, sink: new LabelSink(labelRenderer(format, c.out, t.dpi)), channel: 'cli', host: 'bench', operator: 'bench' });
      return c.bytes;
    },
    async create(orders) {
      const c = counted();
      await printWaybills(deps, { orders, template, format: 'json', sink: new JsonSink(c.out), channel: 'http', host: 'bench', operator: 'bench', copies: 'preview' });
      return c.bytes;
    },
    close: () => store.close(),
  };
}

/** A relay pool of these numbers (4-digit extensions) on the store's file, with production's settings. */
export function poolProvider(store: SqliteStore, keys: Keys, numbers: string[]): PoolRelayProvider {
  const db = sqliteDatabase(store.database);
  return new PoolRelayProvider(new RelayStore(new SqlRelayRepository(db, new OutboxWriter())), new CourierStore(new SqlCourierRepository(db)), keys, {
    pool: parseRelayPool(numbers.join(',')),
    quarantineDays: 90,
    callerPolicy: 'anyone',
    callLimitSeconds: 600,
  });
}

/** The samples as a batch of `n` orders, each with an order id of its own. */
export function batchOf(samples: Order[], n: number, prefix: string): Order[] {
  return Array.from({ length: n }, (_, i) => ({ ...samples[i % samples.length]!, orderId: `${prefix}-${i}` }));
}
