// `npm run bench`: one warm four-copy waybill PDF, one waybill created as JSON, a 1,000-waybill batch into one PDF, peak RSS, and
// how much of it is QR encoding, and one relay binding on a busy pool. Prints figures; asserts nothing
// (shared machines are noisy).

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PACKAGE_ROOT } from '../config/config';
import { encodeCode128, encodeQr } from '../layout/barcodes';
import { tailorTemplate } from '../layout/loadTemplate';
import { Order } from '../order/orderSchema';
import type { OutputFormat } from '../render/outputFormats';
import { SqliteStore } from '../store/sqliteStore';
import { divisionTable } from '../address/divisionTable';
import { splitAddress } from '../address/splitAddress';
import type { Keys } from '../vault/keyFile';
import { batchOf, benchPrinter, poolProvider } from './benchPrinter';

const templateId = process.argv[2] ?? 'cn-4copy';
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);

async function main(): Promise<void> {
  const tableMs = time(1, () => divisionTable()); // first: parsing the samples below loads it too
  const printer = benchPrinter(templateId);
  const { template, samples, keys } = printer;
  let bytes = 0;
  const print = async (orders: Order[], format: Exclude<OutputFormat, 'json'> = 'pdf', t = template) => {
    bytes += await printer.print(orders, format, t);
  };

  for (let i = 0; i < 20; i++) await print([samples[i % samples.length]!]); // warm up
  const singles: number[] = [];
  // Enough documents that the percentiles do not hang on where the collector's pauses fell.
  for (let i = 0; i < 500; i++) {
    bytes = 0;
    const t = process.hrtime.bigint();
    await print([samples[i % samples.length]!]);
    singles.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const singleBytes = bytes;
  singles.sort((a, b) => a - b);
  const creates: number[] = [];
  for (let i = 0; i < 520; i++) {
    const t = process.hrtime.bigint();
    await printer.create([samples[i % samples.length]!]);
    if (i >= 20) creates.push(Number(process.hrtime.bigint() - t) / 1e6); // the first warm up
  }
  creates.sort((a, b) => a - b);

  const batch = batchOf(samples, BATCH, 'BENCH');
  bytes = 0;
  const t0 = process.hrtime.bigint();
  await print(batch);
  const batchMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const qrMs = time(500, () => encodeQr(`https://scan.example.com/w/1${randomBytes(16).toString('base64url')}`));
  const c128Ms = time(500, (i) => encodeCode128(`ZT${String(100000000000 + i)}7`));

  const bindUs = await busyPoolBind(keys);

  const addresses = addressLines();
  const splitMs = time(20_000, (i) => splitAddress(addresses[i % addresses.length]!));
  const raw = fs.readFileSync(path.join(PACKAGE_ROOT, 'samples', 'orders.ndjson'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown);
  const validateMs = time(5_000, (i) => Order.parse(raw[i % raw.length]));

  const pct = (p: number, of = singles) => of[Math.min(of.length - 1, Math.floor((p / 100) * of.length))]!.toFixed(1);
  console.log(`template ${templateId}: ${template.copies.length} copies, ${template.labels.length} label(s) per waybill`);
  console.log(`one waybill PDF (warm): p50 ${pct(50)} ms, p95 ${pct(95)} ms, ${(singleBytes / 1024).toFixed(0)} KB`);
  console.log(`one waybill created, answered as JSON (no label drawn): p50 ${pct(50, creates)} ms, p95 ${pct(95, creates)} ms`);
  console.log(`batch of ${BATCH} into one PDF: ${batchMs.toFixed(0)} ms = ${((BATCH * 1000) / batchMs).toFixed(0)} waybills/s, ${(bytes / 1024 / 1024).toFixed(1)} MB`);
  console.log(`QR encode ${qrMs.toFixed(2)} ms/symbol (${((qrMs * BATCH * 100) / batchMs).toFixed(0)} % of batch time), Code128 ${c128Ms.toFixed(3)} ms/symbol`);
  for (const dpi of [203, 300] as const) {
    const t = tailorTemplate(template, { dpi });
    const figures: string[] = [];
    for (const format of ['pdf', 'png', 'zpl', 'tspl'] as const) {
      for (let i = 0; i < 3; i++) await print([samples[i]!], format, t); // warm up
      const runs = 20;
      const started = process.hrtime.bigint();
      for (let i = 0; i < runs; i++) await print([samples[i % samples.length]!], format, t);
      figures.push(`${format} ${(Number(process.hrtime.bigint() - started) / 1e6 / runs / t.labels.length).toFixed(1)} ms`);
    }
    console.log(`per label at ${dpi} dpi (one waybill, ${t.labels.length} labels, incl. its share of the print): ${figures.join(', ')}`);
  }
  console.log(`relay binding on a pool ${BUSY_SHARE * 100} % held (${BUSY_NUMBERS} numbers × 10,000 extensions): ${bindUs.toFixed(0)} µs per binding`);
  console.log(`order validation (schema, divisions, phones, screening of printed text): ${(validateMs * 1000).toFixed(0)} µs per order`);
  console.log(`address line → divisions: ${(splitMs * 1000).toFixed(0)} µs per address (${addresses.length} lines, every county), table load ${tableMs.toFixed(0)} ms once per process`);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  await printer.close();
}

const BUSY_NUMBERS = 10;
const BUSY_SHARE = 0.6;

/**
 * A binding where a long-running service binds: a pool most of whose slots are held (live bindings and
 * quarantine after them), in a store of its own. The slots are filled directly; bindings then go through
 * the provider as in a print.
 */
async function busyPoolBind(keys: Keys): Promise<number> {
  const store = SqliteStore.open(':memory:');
  const numbers = Array.from({ length: BUSY_NUMBERS }, (_, i) => `+861710000000${i}`);
  const held = store.database.prepare('INSERT INTO relay_slots (number, ext, binding_id, held_until) VALUES (?, ?, ?, ?)');
  const until = new Date(Date.now() + 90 * 86_400_000).toISOString();
  store.database.transaction(() => {
    for (const number of numbers)
      for (let ext = 0; ext < 10_000; ext++) if (Math.random() < BUSY_SHARE) held.run(number, String(ext).padStart(4, '0'), `held-${number}-${ext}`, until);
  })();
  const provider = poolProvider(store, keys, numbers);
  const validFrom = new Date();
  const expiresAt = new Date(validFrom.getTime() + 30 * 86_400_000);
  const runs = 2000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < runs; i++)
    await provider.bind([{ waybillId: `busy-${i}`, party: 'recipient', realPhone: '+8613800000000', partyPhones: ['+8613800000000'], validFrom, expiresAt }], 'zh');
  const us = Number(process.hrtime.bigint() - started) / 1e3 / runs;
  await store.close();
  return us;
}

/** One address line per county-level unit, in the usual written forms, rotating. */
function addressLines(): string[] {
  const lines: string[] = [];
  for (const county of divisionTable().byCode.values()) {
    if (county.level !== 'county') continue;
    const city = county.parent!;
    const province = city.parent!;
    const forms = [
      `${province.name}${city.name}${county.name}人民路12号3栋402`,
      `${province.name} ${city.name} ${county.name} 建设大道88号`,
      `${city.name}${county.name}解放西街5号院2单元301`,
    ];
    lines.push(forms[lines.length % forms.length]!);
  }
  return lines;
}

function time(n: number, f: (i: number) => unknown): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f(i);
  return Number(process.hrtime.bigint() - t) / 1e6 / n;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
