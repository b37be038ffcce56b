import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT, main } from '../../src/cli';
import { CARRIERS, type CarrierCode } from '../../src/order/carriers';
import { fakePrinter } from '../support/fakePrinter';
import { decodeTspl, decodeZpl } from '../support/printerDecoders';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLES = path.join(ROOT, 'samples');

function workspace() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-cli-'));
  const env = { WAYBILL_DATA_DIR: path.join(dir, 'data'), WAYBILL_TEMPLATES_DIR: path.join(ROOT, 'templates') };
  const lines: string[] = [];
  const run = (...argv: string[]) => main(argv, (l) => lines.push(l), env);
  return { dir, env, lines, run, out: path.join(dir, 'out') };
}

const filesIn = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

describe('waybill print', () => {
  it('prints the sample orders to a PDF and reports a summary without personal data', async () => {
    const w = workspace();
    expect(await w.run('print', path.join(SAMPLES, 'orders.ndjson'), '--out', path.join(w.out, 'labels.pdf'))).toBe(EXIT.ok);
    expect(fs.readFileSync(path.join(w.out, 'labels.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    expect(filesIn(w.out)).toEqual(['labels.pdf']);
    expect(w.lines.join('\n')).toMatch(/printed 16 waybill\(s\), 100 label\(s\), template cn-4copy/); // 25 pieces × 4 copies: multi-piece samples print a set per piece
  });

  it('writes per order and copy exactly what the paper shows, plus the QR payload, with --format json', async () => {
    const w = workspace();
    const out = path.join(w.out, 'labels.json');
    expect(await w.run('print', path.join(SAMPLES, 'orders.json'), '--format', 'json', '--out', out)).toBe(EXIT.ok);
    const printed = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(printed).toHaveLength(3);
    const courier = printed[0].copies.find((c: { copy: string }) => c.copy === 'courier');
    expect(courier.qr).toMatch(/^https:\/\/scan\.example\.com\/w\/1[\w-]{22}$/);
    expect(courier.fields['copyCode']).toBe(courier.copyCode);
    expect(printed[0].copies.map((c: { copy: string }) => c.copy)).toEqual(['courier', 'recipient', 'office', 'sender']);
    expect(printed[0].copies.find((c: { copy: string }) => c.copy === 'office').fields['recipient.phone']).toBeUndefined();
  });

  it('keeps order ids unique per client, as the API does: a second run is refused naming the waybills, --reprint prints them again', async () => {
    const w = workspace();
    const orders = path.join(SAMPLES, 'orders.json');
    expect(await w.run('print', orders, '--format', 'json', '--out', path.join(w.out, 'first.json'))).toBe(EXIT.ok);
    const first: { waybillNo: string }[] = JSON.parse(fs.readFileSync(path.join(w.out, 'first.json'), 'utf8'));
    w.lines.length = 0;

    // The same orders again (default client "local"): refused per order with its waybill number, nothing written.
    expect(await w.run('print', orders, '--out', path.join(w.out, 'again.pdf'))).toBe(EXIT.badInput);
    for (const [i, { waybillNo }] of first.entries()) expect(w.lines.join('\n')).toContain(`orders.json: order ${i}: orderId: a waybill exists for this order id: ${waybillNo}`);
    expect(filesIn(w.out)).toEqual(['first.json']);

    // Another client may use the same order ids; --reprint prints the existing waybills with the reprint mark.
    expect(await w.run('print', orders, '--client', 'acme', '--out', path.join(w.out, 'acme.pdf'))).toBe(EXIT.ok);
    expect(await w.run('print', orders, '--reprint', '--format', 'json', '--out', path.join(w.out, 'reprint.json'))).toBe(EXIT.ok);
    const reprinted: { waybillNo: string; copies: { fields: Record<string, string> }[] }[] = JSON.parse(fs.readFileSync(path.join(w.out, 'reprint.json'), 'utf8'));
    expect(reprinted.map((r) => r.waybillNo)).toEqual(first.map((f) => f.waybillNo));
    expect(JSON.stringify(reprinted[0]!.copies[0]!.fields)).toMatch(/重印|REPRINT/);

    // --reprint of orders that have no waybill yet names them.
    w.lines.length = 0;
    expect(await w.run('print', orders, '--client', 'nobody', '--reprint', '--out', path.join(w.out, 'none.pdf'))).toBe(EXIT.badInput);
    expect(w.lines.join('\n')).toMatch(/order 0: orderId: no waybill for this order id yet/);
    expect(await w.run('print', orders, '--client', 'Not A Client', '--out', path.join(w.out, 'x.pdf'))).toBe(EXIT.usage);
  });

  it('prints thermal printer commands at the asked resolution with --format zpl --dpi 300', async () => {
    const w = workspace();
    const out = path.join(w.out, 'labels.zpl');
    expect(await w.run('print', path.join(SAMPLES, 'orders.json'), '--format', 'zpl', '--dpi', '300', '--out', out)).toBe(EXIT.ok);
    const labels = decodeZpl(fs.readFileSync(out));
    expect(labels).toHaveLength(16); // 3 orders, one of 2 pieces: 4 label sets × 4 copies
    expect(labels[0]!.width).toBe(Math.round((100 * 300) / 25.4));
    expect(await w.run('print', path.join(SAMPLES, 'orders.json'), '--format', 'png', '--out', path.join(w.out, 'x.png'))).toBe(EXIT.usage); // PNG holds one waybill
    expect(await w.run('print', path.join(SAMPLES, 'orders.json'), '--format', 'zpl', '--dpi', '600', '--out', out)).toBe(EXIT.usage);
  });

  it.each([
    ['malformed JSON', 'malformed.json', /malformed\.json: not valid JSON/],
    ['a missing field', 'missing-field.ndjson', /missing-field\.ndjson: order 1: line 2: recipient\.phone/],
    ['an invalid phone', 'invalid-phone.json', /invalid-phone\.json: order 0: recipient\.phone: not a valid phone number/],
    ['an unknown country', 'unknown-country.json', /unknown-country\.json: order 0: recipient\.address\.country: unknown country code/],
  ])('refuses %s with file, order index and field path, and writes nothing', async (_what, file, message) => {
    const w = workspace();
    expect(await w.run('print', path.join(SAMPLES, 'bad', file), '--out', path.join(w.out, 'labels.pdf'))).toBe(EXIT.badInput);
    expect(w.lines.join('\n')).toMatch(message);
    expect(filesIn(w.out)).toEqual([]);
    expect(filesIn(w.env.WAYBILL_DATA_DIR)).toEqual([]);
  });

  it('refuses an unknown template and names the available ones', async () => {
    const w = workspace();
    expect(await w.run('print', path.join(SAMPLES, 'orders.json'), '--template', 'a4-invoice', '--out', path.join(w.out, 'x.pdf'))).toBe(EXIT.badInput);
    expect(w.lines.join('\n')).toMatch(/unknown template; available: .*cn-4copy/);
    expect(filesIn(w.out)).toEqual([]);
  });

  it('refuses a broken template file with its path inside the file', async () => {
    const w = workspace();
    const templates = path.join(w.dir, 'templates');
    fs.mkdirSync(templates);
    const t = JSON.parse(fs.readFileSync(path.join(ROOT, 'templates', 'cn-4copy.json'), 'utf8'));
    t.labels[0].sections[0].elements[1].fontPt = 'large';
    fs.writeFileSync(path.join(templates, 'cn-4copy.json'), JSON.stringify(t));
    const code = await main(['print', path.join(SAMPLES, 'orders.json'), '--out', path.join(w.out, 'x.pdf')], (l) => w.lines.push(l), { ...w.env, WAYBILL_TEMPLATES_DIR: templates });
    expect(code).toBe(EXIT.badInput);
    expect(w.lines.join('\n')).toMatch(/cn-4copy\.json: labels\[0\]\.sections\[0\]\.elements\[1\]\.fontPt/);
    expect(filesIn(w.out)).toEqual([]);
  });

  it('keeps an existing output file untouched when the new input is bad', async () => {
    const w = workspace();
    const out = path.join(w.out, 'labels.pdf');
    expect(await w.run('print', path.join(SAMPLES, 'orders.json'), '--out', out)).toBe(EXIT.ok);
    const before = fs.readFileSync(out);
    expect(await w.run('print', path.join(SAMPLES, 'bad', 'invalid-phone.json'), '--out', out)).toBe(EXIT.badInput);
    expect(fs.readFileSync(out).equals(before)).toBe(true);
  });

  it('refuses a waybill number that is already used, and prints nothing', async () => {
    const w = workspace();
    const orders = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'orders.json'), 'utf8')).slice(0, 1);
    orders[0].waybillNo = CARRIERS[orders[0].carrier as CarrierCode].waybill.forms[0].example; // a valid number of its carrier
    const file = path.join(w.dir, 'one.json');
    fs.writeFileSync(file, JSON.stringify(orders));
    expect(await w.run('print', file, '--out', path.join(w.out, 'a.pdf'))).toBe(EXIT.ok);
    expect(await w.run('print', file, '--out', path.join(w.out, 'b.pdf'))).toBe(EXIT.badInput);
    expect(w.lines.join('\n')).toMatch(/one\.json: order 0: waybillNo: waybill number is already used/);
    expect(filesIn(w.out)).toEqual(['a.pdf']);
  });

  it('refuses a waybill number given twice in one file as the file’s own mistake, not as one in use', async () => {
    const w = workspace();
    const orders = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'orders.json'), 'utf8')).slice(0, 2);
    orders[1].carrier = orders[0].carrier;
    orders[0].waybillNo = orders[1].waybillNo = CARRIERS[orders[0].carrier as CarrierCode].waybill.forms[0].example;
    const file = path.join(w.dir, 'twice.json');
    fs.writeFileSync(file, JSON.stringify(orders));
    expect(await w.run('print', file, '--out', path.join(w.out, 'a.pdf'))).toBe(EXIT.badInput);
    expect(w.lines.join('\n')).toMatch(/twice\.json: order 1: waybillNo: waybill number repeated in this request/);
    expect(w.lines.join('\n')).not.toMatch(/already used/);
    expect(filesIn(w.out)).toEqual([]);
  });

  it('explains its usage', async () => {
    const w = workspace();
    expect(await w.run('print', path.join(SAMPLES, 'orders.json'))).toBe(EXIT.usage);
    expect(w.lines.join('\n')).toMatch(/give --out PATH \(a file\) or --printer NAME/);
    expect(await w.run('print', path.join(SAMPLES, 'orders.json'), '--format', 'docx', '--out', 'x')).toBe(EXIT.usage);
  });

  it('prints to a registered network printer, and keeps a job the printer did not take for `printers retry`', async () => {
    const w = workspace();
    const line = await fakePrinter();
    try {
      const env = { ...w.env, WAYBILL_PRINTER_RETRY_BACKOFF_MS: '5', WAYBILL_PRINTER_NETWORKS: '127.0.0.1/32' };
      const run = (...argv: string[]) => main(argv, (l) => w.lines.push(l), env);
      expect(await run('printers', 'add', 'dock-2', '--host', '127.0.0.1', '--port', String(line.port), '--language', 'tspl', '--template', 'cn-1ply-76x130')).toBe(EXIT.ok);
      expect(await run('printers', 'add', 'Dock 3', '--host', 'http://x', '--language', 'epl')).toBe(EXIT.badInput);
      expect(w.lines.join('\n')).toMatch(/name: must be 1–40 lower-case[\s\S]*host: must be a host name[\s\S]*language: /);
      // A template that is not there would fail every print to the printer: refused when it is added.
      expect(await run('printers', 'add', 'dock-4', '--host', '127.0.0.1', '--language', 'tspl', '--template', 'no-such-label')).toBe(EXIT.badInput);
      expect(w.lines.join('\n')).toMatch(/unknown template; available: cn-/);
      expect(await run('print', path.join(SAMPLES, 'orders.json'), '--printer', 'dock-2', '--format', 'zpl')).toBe(EXIT.usage);
      expect(await run('print', path.join(SAMPLES, 'orders.json'), '--printer', 'dock-9')).toBe(EXIT.badInput);

      expect(await run('print', path.join(SAMPLES, 'orders.json'), '--printer', 'dock-2')).toBe(EXIT.ok);
      const [job] = await line.received(1);
      expect(decodeTspl(job!).map((l) => l.width)).toEqual([608, 608, 608, 608]); // one 76 mm label per piece (3 waybills, 4 pieces) at 203 dpi
      expect(w.lines.join('\n')).toMatch(/format tspl, job [0-9a-f-]{36}, in \d+ ms → printer dock-2\nsent job [0-9a-f-]{36} to printer dock-2 \(1 attempt\(s\)\)/);

      await line.off();
      w.lines.length = 0;
      expect(await run('print', path.join(SAMPLES, 'orders.json'), '--client', 'second-run', '--printer', 'dock-2')).toBe(EXIT.unavailable);
      const kept = /job ([0-9a-f-]{36}) is kept: waybill printers retry \1/.exec(w.lines.join('\n'));
      expect(kept).not.toBeNull();
      expect(w.lines.join('\n')).toMatch(/refused the connection \(printer off or port closed\) after 3 attempt\(s\)/);
      expect(await run('printers', 'jobs', '--status', 'failed')).toBe(EXIT.ok);
      expect(w.lines.join('\n')).toMatch(new RegExp(`^${kept![1]}\tdock-2\tfailed\t3\t`, 'm'));

      await line.on();
      expect(await run('printers', 'retry', kept![1]!)).toBe(EXIT.ok);
      expect(decodeTspl((await line.received(2))[1]!)).toHaveLength(4); // a label per piece
      expect(await run('printers', 'retry', kept![1]!)).toBe(EXIT.badInput); // delivered already
    } finally {
      await line.off().catch(() => undefined);
    }
  });
});
