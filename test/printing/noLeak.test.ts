// The promise of the product, checked like a thief would: print every sample order with every built-in
// template, then read the PDF with a real parser (text, metadata) and decode its barcodes from
// rasterised pages. No full name, given name, run of 6 phone digits, street, building, unit or room
// may appear anywhere; the QR must lead (through the store) to the waybill its Code128 names.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parsePhoneNumber } from 'libphonenumber-js/max';
import { listTemplates, loadTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import type { Order, Party } from '../../src/order/orderSchema';
import { parseOrders } from '../../src/order/readOrders';
import { printWaybills, type PrintSummary } from '../../src/printing/printWaybills';
import { LabelSink } from '../../src/printing/waybillSink';
import { PdfRenderer } from '../../src/render/pdfRenderer';
import { SqliteStore } from '../../src/store/sqliteStore';
import { SqliteAuditLog } from '../../src/store/sqliteAuditLog';
import { SqliteCourierStore } from '../../src/store/sqliteCourierStore';
import { SqliteRelayStore } from '../../src/store/sqliteRelayStore';
import { PoolRelayProvider } from '../../src/relay/poolRelayProvider';
import { parseRelayPool } from '../../src/relay/relayPool';
import { hashToken } from '../../src/vault/qrToken';
import { decodeBarcodes } from '../support/barcodes';
import { pdfMetadata, pdfText, rasterisePdf } from '../support/pdfProbe';

const ROOT = path.join(__dirname, '..', '..');
const TEMPLATES = path.join(ROOT, 'templates');
const orders = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');
const SCAN_BASE = 'https://scan.example.com';
const keys = { ring: { activeKeyId: 'test', keys: new Map([['test', randomBytes(32)]]) }, tokenKey: randomBytes(32) };

const RELAY = { pool: parseRelayPool('+8617000001234,+8617000001235'), quarantineDays: 90, callerPolicy: 'anyone' as const, callLimitSeconds: 600 };

const COMPOUND_SURNAMES = ['欧阳', '司马', '诸葛', '上官', '慕容'];

/** Every piece of a person that must never reach paper. */
function secretsOf(party: Party): { texts: string[]; phoneDigits: string } {
  const name = party.name.normalize('NFC');
  const texts = [name];
  if (/^\p{Script=Han}/u.test(name) && !/[·•・]/.test(name)) {
    const surname = COMPOUND_SURNAMES.find((s) => name.startsWith(s)) ?? name[0]!;
    texts.push(name.slice(surname.length).replace(/\s/g, ''));
  } else {
    // Every word long enough to mean something ("Mary-Jane O'Connor" → Mary, Jane, Connor).
    // The first segment of a dotted name is printed by design (DESIGN §2: 麦麦提·赛帕克 → 麦麦提·***).
    const [first, ...rest] = name.split(/[·•・]/);
    texts.push(...rest);
    if (rest.length === 0) texts.push(...first!.split(/[\s'’-]+/).filter((w) => [...w].length >= 4));
  }
  const a = party.address;
  const lines = a.country === 'CN' ? [a.street, a.detail] : [a.line1, a.line2];
  for (const line of lines) {
    if (!line) continue;
    texts.push(line);
    // Building, unit and room on their own: "5 幢", "2 单元", "1102 室", "Apt 4B" …
    texts.push(...(line.match(/\d+\s*(?:号楼|幢|栋|单元|室|楼|弄|号)/g) ?? []));
  }
  return { texts: texts.filter((t) => t.trim().length >= 2), phoneDigits: party.phone.replace(/\D/g, '') };
}

const squash = (s: string) => s.normalize('NFC').replace(/[\s\-–—]/g, '');

/**
 * Fails with the kind of leak and where, but without echoing the secret into CI logs. Paper may show
 * no run of 6 phone digits (GB/T 41833); in raw database bytes, where unrelated digit columns sit side
 * by side, a 6-digit run can occur by chance, so there the whole national number is the secret.
 */
function expectNoLeak(haystack: string, where: string, order: Order, knownNumbers: string[], phoneRun = 6): void {
  let text = squash(haystack);
  for (const n of knownNumbers) text = text.split(n).join('#'); // waybill numbers are random digits, not phones
  text = text.replace(/\d{4}\d{2}\d{2}/g, (d) => (/^20\d{6}$/.test(d) ? '#' : d)); // print dates
  for (const who of ['sender', 'recipient'] as const) {
    const { texts, phoneDigits: e164Digits } = secretsOf(order[who]);
    const national = parsePhoneNumber(order[who].phone).nationalNumber;
    const phoneDigits = phoneRun === 6 ? e164Digits : national;
    const run = Math.min(phoneRun, phoneDigits.length);
    texts.forEach((secret, i) => {
      if (text.includes(squash(secret))) throw new Error(`${where}: ${who} text secret #${i} of order ${order.orderId} leaked`);
    });
    for (let i = 0; i + run <= phoneDigits.length; i++) {
      if (text.includes(phoneDigits.slice(i, i + run))) throw new Error(`${where}: ${run} digits of the ${who} phone of order ${order.orderId} leaked`);
    }
  }
}

jest.setTimeout(300_000); // rasterising and decoding every page of every template takes a while on 2 cores

describe.each(listTemplates(TEMPLATES))('no personal data on paper: template %s', (templateId) => {
  const template = loadTemplate(TEMPLATES, templateId);
  const labelsPerWaybill = template.labels.length;
  let dir: string;
  let pdf: string;
  let store: SqliteStore;
  let summary: PrintSummary;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-noleak-'));
    pdf = path.join(dir, 'labels.pdf');
    store = SqliteStore.open(path.join(dir, 'waybill.db'));
    summary = await printWaybills(
      {
        store,
        audit: new SqliteAuditLog(store.database),
        keys,
        scanBaseUrl: SCAN_BASE,
        metrics: fontMetrics,
        maxLifetimeDays: 90,
        // With relay numbers, as in production: the courier copy shows "170 0000 1234 转 5678".
        relay: { provider: new PoolRelayProvider(new SqliteRelayStore(store.database), new SqliteCourierStore(store.database), keys, RELAY), maxDays: 60 },
      },
      { orders, template, format: 'pdf', sink: new LabelSink(new PdfRenderer(fs.createWriteStream(pdf))), channel: 'cli', host: 'test', operator: 'test' },
    );
  });

  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const numbers = () => summary.waybills.map((w) => w.waybillNo);

  it('extracted text and metadata hold no name, given name, phone digits, street, building, unit or room', async () => {
    const text = await pdfText(pdf);
    // Sanity: the extractor does see our text, so an empty extraction cannot pass for "no leak".
    for (const w of summary.waybills) expect(squash(text)).toContain(w.waybillNo);
    expect(text).toMatch(/170 0000 123[45] (转|ext\.) \d{4}/);
    const meta = await pdfMetadata(pdf);
    for (const order of orders) {
      expectNoLeak(text, 'PDF text', order, numbers());
      expectNoLeak(meta, 'PDF metadata', order, numbers());
    }
  });

  it('the stored database (and its write-ahead log) holds none of it either', () => {
    for (const file of ['waybill.db', 'waybill.db-wal'].map((f) => path.join(dir, f)).filter(fs.existsSync)) {
      const bytes = fs.readFileSync(file);
      for (const order of orders) expectNoLeak(bytes.toString('utf8') + bytes.toString('latin1'), path.basename(file), order, numbers(), Infinity);
    }
  });

  it('barcodes decode to the waybill number and a QR token URL that leads to the same waybill, and to nothing personal', async () => {
    // At the template's own resolution, where every module is a whole number of pixels, as on the printer.
    const pages = await rasterisePdf(pdf, template.dpi);
    expect(pages).toHaveLength(orders.length * labelsPerWaybill);
    const seen: { page: number; code128: string[]; qr: boolean }[] = [];
    const wanted: typeof seen = [];
    for (const [page, png] of pages.entries()) {
      const waybillNo = summary.waybills[Math.floor(page / labelsPerWaybill)]!.waybillNo;
      const label = template.labels[page % labelsPerWaybill]!;
      const found = await decodeBarcodes(png);
      const qr = found.filter((b) => b.format === 'QR_CODE').map((b) => b.text);
      seen.push({ page, code128: found.filter((b) => b.format === 'CODE_128').map((b) => b.text), qr: qr.length > 0 });
      wanted.push({ page, code128: [waybillNo], qr: label.sections.some((s) => s.elements.some((e) => e.type === 'qr')) });
      for (const url of qr) {
        expect(url).toMatch(/^https:\/\/scan\.example\.com\/w\/1[A-Za-z0-9_-]{22}$/);
        const token = url.slice(`${SCAN_BASE}/w/`.length);
        expect((await store.findWaybillByTokenHash(hashToken(token, keys.tokenKey)))?.waybillNo).toBe(waybillNo);
      }
      for (const order of orders) expectNoLeak(found.map((b) => b.text).join('\n'), `barcodes on page ${page}`, order, numbers());
    }
    expect(seen).toEqual(wanted);
  });
});
