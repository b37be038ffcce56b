// The promise of the product, checked like a thief would: print every sample order with every built-in
// template, then read the PDF with a real parser (text, metadata) and decode its barcodes from
// rasterised pages; read the printer languages (ZPL both compressions, TSPL, CPCL) and the PNG as raw
// command text and as the bitmaps a printer would print, decoding the barcodes from those. No full name, given name, run of 6 phone digits, street, building, unit or room
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
import { formatIssue, formatPath, WaybillError } from '../../src/errors';
import { printWaybills, type PrintSummary } from '../../src/printing/printWaybills';
import { LabelSink, type PrintedWaybill, type WaybillSink } from '../../src/printing/waybillSink';
import type { WaybillLayout } from '../../src/layout/layoutWaybill';
import type { Bitmap } from '../../src/render/bitmap';
import { memoryOutput } from '../../src/render/memoryOutput';
import { labelRenderer } from '../../src/render/outputFormats';
import { PdfRenderer } from '../../src/render/pdfRenderer';
import { encodePng } from '../../src/render/pngEncoder';
import { SqliteStore } from '../../src/store/sqliteStore';
import { ChainedAuditLog } from '../../src/audit/auditLog';
import { SqlAuditRepository } from '../../src/store/auditRepository';
import { CourierStore } from '../../src/couriers/courierStore';
import { SqlCourierRepository } from '../../src/store/courierRepository';
import { sqliteDatabase } from '../../src/store/database';
import { RelayStore } from '../../src/relay/relayStore';
import { SqlRelayRepository } from '../../src/store/relayRepository';
import { OutboxWriter } from '../../src/store/webhookOutbox';
import { PoolRelayProvider } from '../../src/relay/poolRelayProvider';
import { parseRelayPool } from '../../src/relay/relayPool';
import { hashToken } from '../../src/vault/qrToken';
import { decodeBarcodes } from '../support/barcodes';
import { expectAbsent } from '../support/expectAbsent';
import { decodeCpcl, decodeTspl, decodeZpl } from '../support/printerDecoders';
import { pdfMetadata, pdfText, rasterisePdf } from '../support/pdfProbe';

const ROOT = path.join(__dirname, '..', '..');
const TEMPLATES = path.join(ROOT, 'templates');
// The samples, plus orders an integrator's messy data produces that must still print nothing personal:
// one-line addresses with rooms, digits posing as a Latin name, dotted names, phones with extensions.
const orders = [
  ...parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson'),
  ...parseOrders(fs.readFileSync(path.join(__dirname, 'hostile-orders.ndjson'), 'utf8'), 'hostile-orders.ndjson'),
];
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
  } else if (/[·•・]/.test(name)) {
    // A dotted name shows at most its first character: every segment is secret (麦麦提·赛帕克 → 麦**·***).
    texts.push(...name.split(/[·•・]/));
  } else {
    // Every word long enough to mean something ("Mary-Jane O'Connor" → Mary, Jane, Connor).
    texts.push(...name.split(/[\s'’-]+/).filter((w) => [...w].length >= 4));
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
function expectNoLeak(haystack: string, where: string, orders: readonly Order[], knownNumbers: string[], phoneRun = 6): void {
  let text = squash(haystack);
  for (const n of knownNumbers) text = text.split(n).join('#'); // waybill numbers are random digits, not phones
  text = text.replace(/\d{4}\d{2}\d{2}/g, (d) => (/^20\d{6}$/.test(d) ? '#' : d)); // print dates
  for (const order of orders) {
    for (const who of ['sender', 'recipient'] as const) {
      const { texts, phoneDigits: e164Digits } = secretsOf(order[who]);
      const national = parsePhoneNumber(order[who].phone).nationalNumber;
      const phoneDigits = phoneRun === 6 ? e164Digits : national;
      const run = Math.min(phoneRun, phoneDigits.length);
      texts.forEach((secret, i) => {
        // In raw bytes (compressed images, base64) a short Latin word turns up by chance ("Ling" is
        // 4 of 64 base64 symbols: about once in 17 million positions); there whole names count.
        if (phoneRun === Infinity && /^[A-Za-z]{1,7}$/.test(squash(secret))) return;
        if (text.includes(squash(secret))) throw new Error(`${where}: ${who} text secret #${i} of order ${order.orderId} leaked`);
      });
      for (let i = 0; i + run <= phoneDigits.length; i++) {
        if (text.includes(phoneDigits.slice(i, i + run))) throw new Error(`${where}: ${run} digits of the ${who} phone of order ${order.orderId} leaked`);
      }
    }
  }
}

/**
 * The command text of a printer job with its bitmap payloads cut out: there a run of digits is image
 * data (hex, base64, binary), so those bytes are checked like the database, for whole numbers only.
 */
function commandText(name: string, bytes: Buffer): string {
  const text = bytes.toString('latin1');
  if (name.startsWith('zpl')) return text.replace(/(\^GFA,\d+,\d+,\d+,)[^^]*/g, '$1');
  if (name === 'cpcl') {
    // EG w h x y <hex> and CG w h x y <w × h binary bytes>
    let out = '';
    let at = 0;
    for (let m; (m = /CG (\d+) (\d+) \d+ \d+ /g.exec(text.slice(at))); ) {
      out += text.slice(at, at + m.index + m[0].length);
      at += m.index + m[0].length + Number(m[1]) * Number(m[2]);
    }
    // Graphics headers and LINE fills are geometry only; their numbers, squashed together, would read as
    // digit runs, so they are cut as well.
    return (out + text.slice(at))
      .replace(/^(EG \d+ \d+ \d+ \d+ )[0-9A-F]*$/gm, '$1')
      .replace(/^(CG|EG|LINE)( \d+)+ ?$/gm, '$1')
      .replace(/^CG \d+ \d+ \d+ \d+ /gm, 'CG ');
  }
  if (name === 'tspl') {
    // BITMAP x,y,width,height,mode,<width × height raw bytes>
    let out = '';
    let at = 0;
    for (let m; (m = /BITMAP \d+,\d+,(\d+),(\d+),\d+,/g.exec(text.slice(at))); ) {
      out += text.slice(at, at + m.index + m[0].length);
      at += m.index + m[0].length + Number(m[1]) * Number(m[2]);
    }
    return out + text.slice(at);
  }
  return ''; // PNG: compressed pixels only
}

/** One print, many outputs: every sink receives the same waybills and layouts. */
function teeSink(...sinks: WaybillSink[]): WaybillSink {
  return {
    add: async (waybill: PrintedWaybill, layout: WaybillLayout) => {
      for (const sink of sinks) await sink.add(waybill, layout);
    },
    finish: async () => {
      for (const sink of sinks) await sink.finish();
    },
  };
}

/** PNG holds one waybill: only the first reaches it. */
function firstWaybillOnly(sink: WaybillSink): WaybillSink {
  let taken = false;
  return { add: async (w, layout) => (taken ? undefined : ((taken = true), sink.add(w, layout))), finish: () => sink.finish() };
}

const PRINTER_LANGUAGES = { zpl: decodeZpl, 'zpl-acs': decodeZpl, tspl: decodeTspl, cpcl: decodeCpcl } as const;
type PrinterLanguage = keyof typeof PRINTER_LANGUAGES;

jest.setTimeout(300_000); // rasterising and decoding every page of every template takes a while on 2 cores

describe.each(listTemplates(TEMPLATES))('no personal data on paper: template %s', (templateId) => {
  const template = loadTemplate(TEMPLATES, templateId);
  const labelsPerWaybill = template.labels.length;
  let dir: string;
  let pdf: string;
  let store: SqliteStore;
  let summary: PrintSummary;
  /** Per label in print order: the number its Code128 carries (a piece's own) and its waybill's (master) number. */
  let labelNos: { no: string; master: string }[];
  const raster = {} as Record<PrinterLanguage | 'png', () => Buffer>;

  beforeAll(async () => {
    const rasterSinks = (['zpl', 'zpl-acs', 'tspl', 'cpcl', 'png'] as const).map((name) => {
      const out = memoryOutput();
      raster[name] = out.bytes;
      const format = name === 'zpl-acs' ? 'zpl' : name;
      const sink = new LabelSink(labelRenderer(format, out.stream, template.dpi, { zplCompression: name === 'zpl-acs' ? 'acs' : 'z64' }));
      return name === 'png' ? firstWaybillOnly(sink) : sink;
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-noleak-'));
    pdf = path.join(dir, 'labels.pdf');
    store = SqliteStore.open(path.join(dir, 'waybill.db'));
    summary = await printWaybills(
      {
        store,
        audit: new ChainedAuditLog(new SqlAuditRepository(sqliteDatabase(store.database))),
        keys,
        scanBaseUrl: SCAN_BASE,
        metrics: fontMetrics,
        maxLifetimeDays: 90,
        // With relay numbers, as in production: the courier copy shows "170 0000 1234 转 5678".
        relay: { provider: new PoolRelayProvider(new RelayStore(new SqlRelayRepository(sqliteDatabase(store.database), new OutboxWriter())), new CourierStore(new SqlCourierRepository(sqliteDatabase(store.database))), keys, RELAY), maxDays: 60 },
      },
      {
        orders,
        template,
        format: 'pdf',
        sink: teeSink(new LabelSink(new PdfRenderer(fs.createWriteStream(pdf))), ...rasterSinks),
        channel: 'cli',
        host: 'test',
        operator: 'test',
      },
    );
    // A multi-piece order prints a label set per piece, piece 2.. under its child number.
    labelNos = [];
    for (const w of summary.waybills)
      for (const no of [w.waybillNo, ...(await store.childNosOf(w.id))]) for (let i = 0; i < labelsPerWaybill; i++) labelNos.push({ no, master: w.waybillNo });
  });

  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const numbers = () => [...new Set(labelNos.map((l) => l.no))];

  it('extracted text and metadata hold no name, given name, phone digits, street, building, unit or room', async () => {
    const text = await pdfText(pdf);
    // Sanity: the extractor does see our text, so an empty extraction cannot pass for "no leak".
    for (const w of summary.waybills) expect(squash(text)).toContain(w.waybillNo);
    expect(text).toMatch(/170 0000 123[45] (转|ext\.) \d{4}/);
    const meta = await pdfMetadata(pdf);
    expectNoLeak(text, 'PDF text', orders, numbers());
    expectNoLeak(meta, 'PDF metadata', orders, numbers());
  });

  it('the stored database (and its write-ahead log) holds none of it either', () => {
    for (const file of ['waybill.db', 'waybill.db-wal'].map((f) => path.join(dir, f)).filter(fs.existsSync)) {
      const bytes = fs.readFileSync(file);
      expectNoLeak(bytes.toString('utf8') + bytes.toString('latin1'), path.basename(file), orders, numbers(), Infinity);
    }
  });

  it('barcodes decode to the waybill number and a QR token URL that leads to the same waybill, and to nothing personal', async () => {
    // At the template's own resolution, where every module is a whole number of pixels, as on the printer.
    const pages = await rasterisePdf(pdf, template.dpi);
    expect(pages).toHaveLength(labelNos.length);
    const seen: { page: number; code128: string[]; qr: boolean }[] = [];
    const wanted: typeof seen = [];
    for (const [page, png] of pages.entries()) {
      const { no: waybillNo, master } = labelNos[page]!;
      const label = template.labels[page % labelsPerWaybill]!;
      const found = await decodeBarcodes(png);
      const qr = found.filter((b) => b.format === 'QR_CODE').map((b) => b.text);
      seen.push({ page, code128: found.filter((b) => b.format === 'CODE_128').map((b) => b.text), qr: qr.length > 0 });
      wanted.push({ page, code128: [waybillNo], qr: label.sections.some((s) => s.elements.some((e) => e.type === 'qr')) });
      for (const url of qr) {
        expect(url).toMatch(/^https:\/\/scan\.example\.com\/w\/1[A-Za-z0-9_-]{22}$/);
        const token = url.slice(`${SCAN_BASE}/w/`.length);
        expect((await store.findWaybillByTokenHash(hashToken(token, keys.tokenKey)))?.waybillNo).toBe(master);
      }
      expectNoLeak(found.map((b) => b.text).join('\n'), `barcodes on page ${page}`, orders, numbers());
    }
    expect(seen).toEqual(wanted);
  });

  it('printer commands and the PNG, read as raw bytes and as command text, hold no name, phone digits, street, building, unit or room', () => {
    for (const [name, bytes] of Object.entries(raster)) {
      const command = commandText(name, bytes());
      if (name !== 'png') {
        expect(command).toMatch(/PRINT|\^XZ/); // the cut left the commands…
        expect(command).toMatch(/^[\x20-\x7e\r\n]*$/); // …and only them: no image data is left
      }
      expectNoLeak(command, `${name} command text`, orders, numbers());
      expectNoLeak(bytes().toString('latin1') + bytes().toString('utf8'), `${name} bytes`, orders, numbers(), Infinity);
    }
  });

  it('every printer language prints the same dots, whose barcodes decode to the waybill number and its own QR token, and nothing personal', async () => {
    const decoded = Object.fromEntries(Object.entries(PRINTER_LANGUAGES).map(([name, decode]) => [name, decode(raster[name as PrinterLanguage]())])) as Record<PrinterLanguage, Bitmap[]>;
    const zpl = decoded.zpl;
    expect(zpl).toHaveLength(labelNos.length);
    for (const name of ['zpl-acs', 'tspl', 'cpcl'] as const) {
      expect(decoded[name]).toHaveLength(zpl.length);
      decoded[name].forEach((b, i) => expect(b.data.equals(zpl[i]!.data)).toBe(true));
    }
    // The PNG (first waybill) is those very dots.
    const firstWaybillLabels = labelNos.filter((l) => l.master === summary.waybills[0]!.waybillNo).length;
    expect(raster.png().equals(encodePng(zpl.slice(0, firstWaybillLabels), template.dpi))).toBe(true);
    for (const [i, bitmap] of zpl.entries()) {
      const { no: waybillNo, master } = labelNos[i]!;
      const png = encodePng([bitmap], template.dpi);
      const found = await decodeBarcodes(png);
      expect(found.filter((b) => b.format === 'CODE_128').map((b) => b.text)).toEqual([waybillNo]);
      for (const b of found.filter((b) => b.format === 'QR_CODE')) {
        const token = b.text.slice(`${SCAN_BASE}/w/`.length);
        expect((await store.findWaybillByTokenHash(hashToken(token, keys.tokenKey)))?.waybillNo).toBe(master);
      }
      expectNoLeak(found.map((b) => b.text).join('\n'), `barcodes on ${template.id} label ${i}`, orders, numbers());
    }
  });
});

describe('hostile free text is refused before anything is created, naming the field and quoting nothing', () => {
  const base = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8').split('\n')[0]!) as Record<string, any>;
  const recipientAddress = (change: Record<string, unknown>) => ({ ...base, recipient: { ...base.recipient, address: { ...base.recipient.address, ...change } } });
  const london = { country: 'GB', city: 'London', postalCode: 'EC1V 9HX', line1: 'Flat 12, Rosebery Court' };

  it.each([
    ['phone digits in the contents', { ...base, parcel: { ...base.parcel, contents: '收件人电话13962584017' } }, 'parcel.contents', '13962584017'],
    ['the street and room in the district', recipientAddress({ district: '西湖区文三路90号5幢2单元1102室' }), 'recipient.address.district', '文三路'],
    ['a room in the city', recipientAddress({ city: '杭州市5幢2单元1102室' }), 'recipient.address.city', '1102'],
    ['the recipient’s name in the contents', { ...base, parcel: { ...base.parcel, contents: '送给欧阳晓岚的生日礼物' } }, 'parcel.contents', '欧阳晓岚'],
    ['phone digits in a foreign city', { ...base, recipient: { ...base.recipient, phone: '+44 20 7946 0958', address: { ...london, city: 'London 2079460958' } } }, 'recipient.address.city', '2079460958'],
    ['the street in a routing code', { ...base, routingCode: '文三路90号' }, 'routingCode', '文三路'],
  ])('%s', (_what, order, fieldPath, secret) => {
    let refused: unknown;
    try {
      parseOrders(JSON.stringify(order), 'hostile.json');
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(WaybillError);
    const error = refused as WaybillError;
    expect(error.code).toBe('invalid_input');
    expect(error.issues.map((i) => formatPath(i.path))).toContain(fieldPath);
    expectAbsent(error.issues.map(formatIssue).join('\n') + error.message, [secret], 'the refusal');
  });
});
