// `waybill preview` through the real command, on both databases: the same orders a print just made
// waybills for preview without a conflict, and every table of the store holds exactly the rows it held
// before (waybills, relay bindings and the relay pool, copy codes, print jobs, leases, the audit log);
// a fresh data directory stays empty. A bad order is refused exactly as a print refuses it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT, main } from '../../src/cli';
import { CARRIERS } from '../../src/order/carriers';
import { pdfText } from '../support/pdfProbe';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const SAMPLES = path.join(ROOT, 'samples');
const filesIn = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

function workspace(extra: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-preview-cli-'));
  const env = { WAYBILL_DATA_DIR: path.join(dir, 'data'), WAYBILL_TEMPLATES_DIR: path.join(ROOT, 'templates'), ...extra };
  const lines: string[] = [];
  const run = (...argv: string[]) => main(argv, (l) => lines.push(l), env);
  return { dir, env, lines, run, out: path.join(dir, 'out') };
}

/** Every table's row count, and the relay tables' rows themselves. */
async function snapshot(db: TestDatabase): Promise<{ counts: Record<string, number>; relay: unknown[] }> {
  const tables = (
    db.location.backend === 'sqlite'
      ? await db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      : await db.query('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename')
  ).map((r) => String(r.name));
  const counts: Record<string, number> = {};
  for (const t of tables) counts[t] = Number((await db.query(`SELECT COUNT(*) AS n FROM ${t}`))[0]!.n);
  const relay = [...(await db.query('SELECT * FROM relay_bindings ORDER BY id')), ...(await db.query('SELECT * FROM relay_slots ORDER BY number, ext'))];
  return { counts, relay };
}

describe('waybill preview', () => {
  it('writes a stamped PDF and opens no store: a fresh data directory stays empty', async () => {
    const w = workspace();
    const out = path.join(w.out, 'preview.pdf');
    expect(await w.run('preview', path.join(SAMPLES, 'orders.ndjson'), '--out', out)).toBe(EXIT.ok);
    expect(filesIn(w.out)).toEqual(['preview.pdf']);
    expect(filesIn(w.env.WAYBILL_DATA_DIR)).toEqual([]);
    expect(w.lines.join('\n')).toMatch(/previewed 16 waybill\(s\), 100 label\(s\), template cn-4copy, format pdf, .*nothing created/); // 25 pieces × 4
    const text = await pdfText(out);
    expect(text.split('\f').filter((p) => p.trim()).every((page) => page.includes('样张'))).toBe(true);
  });

  it('stamps PREVIEW on an English template, as a PNG of one waybill', async () => {
    const w = workspace();
    const out = path.join(w.out, 'one.png');
    expect(await w.run('preview', path.join(SAMPLES, 'order.json'), '--template', 'intl-4x6', '--format', 'png', '--dpi', '300', '--out', out)).toBe(EXIT.ok);
    expect(fs.readFileSync(out).subarray(1, 4).toString()).toBe('PNG');
    expect(await w.run('preview', path.join(SAMPLES, 'orders.json'), '--format', 'png', '--out', out)).toBe(EXIT.usage); // one waybill per PNG
  });

  it.each([
    ['a missing field', 'missing-field.ndjson', /missing-field\.ndjson: order 1: line 2: recipient\.phone/],
    ['an invalid phone', 'invalid-phone.json', /invalid-phone\.json: order 0: recipient\.phone: not a valid phone number/],
    ['an unknown country', 'unknown-country.json', /unknown-country\.json: order 0: recipient\.address\.country: unknown country code/],
  ])('refuses %s as a print does (exit 65, field path) and writes nothing', async (_what, file, message) => {
    const w = workspace();
    const preview = await w.run('preview', path.join(SAMPLES, 'bad', file), '--out', path.join(w.out, 'p.pdf'));
    const said = w.lines.splice(0).join('\n');
    const print = await w.run('print', path.join(SAMPLES, 'bad', file), '--out', path.join(w.out, 'p.pdf'));
    expect(preview).toBe(EXIT.badInput);
    expect(print).toBe(EXIT.badInput);
    expect(said).toMatch(message);
    expect(said).toBe(w.lines.join('\n')); // word for word what the print says
    expect(filesIn(w.out)).toEqual([]);
    expect(filesIn(w.env.WAYBILL_DATA_DIR)).toEqual([]);
  });

  it('explains its usage', async () => {
    const w = workspace();
    expect(await w.run('preview', path.join(SAMPLES, 'orders.json'))).toBe(EXIT.usage);
    expect(w.lines.join('\n')).toMatch(/give --out PATH/);
    expect(await w.run('preview', path.join(SAMPLES, 'orders.json'), '--format', 'zpl', '--out', path.join(w.out, 'x'))).toBe(EXIT.usage);
    expect(await w.run('preview', path.join(SAMPLES, 'orders.json'), '--dpi', '600', '--out', path.join(w.out, 'x'))).toBe(EXIT.usage);
    expect(filesIn(w.out)).toEqual([]);
  });
});

describe.each(STORE_BACKENDS)('%s: waybill preview writes nothing to the store', (_name, backend) => {
  let db: TestDatabase;
  let w: ReturnType<typeof workspace>;

  beforeAll(async () => {
    db = await backend.open();
    w = workspace({
      ...(db.location.backend === 'postgres' ? { DATABASE_URL: db.location.url } : {}),
      WAYBILL_RELAY_NUMBERS: '+8617000000001,+8617000000002',
    });
    if (db.location.backend === 'sqlite') w.env.WAYBILL_DATA_DIR = path.dirname(db.location.file);
  });
  afterAll(async () => {
    await db.close();
    fs.rmSync(w.dir, { recursive: true, force: true });
  });

  it('previews orders that already have waybills, in every format, and every table keeps its rows', async () => {
    const orders = path.join(SAMPLES, 'orders.json');
    expect(await w.run('print', orders, '--format', 'json', '--out', path.join(w.out, 'printed.json'))).toBe(EXIT.ok);
    const printed = JSON.parse(fs.readFileSync(path.join(w.out, 'printed.json'), 'utf8'));
    const before = await snapshot(db);
    expect(before.counts.waybills).toBe(3);
    expect(before.relay.length).toBeGreaterThan(0);

    for (const [format, file] of [['json', 'preview.json'], ['pdf', 'preview.pdf']])
      expect(await w.run('preview', orders, '--format', format!, '--out', path.join(w.out, file!))).toBe(EXIT.ok);
    expect(await w.run('preview', path.join(SAMPLES, 'order.json'), '--format', 'png', '--out', path.join(w.out, 'preview.png'))).toBe(EXIT.ok);
    expect(await snapshot(db)).toEqual(before);

    // The paper without a relay number: masked phone and the carrier's service line, where the print has a relay number.
    const preview = JSON.parse(fs.readFileSync(path.join(w.out, 'preview.json'), 'utf8'));
    const courier = (entry: { copies: { copy: string; fields: Record<string, string> }[] }) => entry.copies.find((c) => c.copy === 'courier')!.fields;
    expect(courier(printed[0])['recipient.phone']).toMatch(/^170/);
    expect(courier(preview[0])['recipient.phone']).toMatch(new RegExp(`/ ${CARRIERS.ZT.serviceNumber}$`));
    expect(preview[0].waybillNo).not.toBe(printed[0].waybillNo);
  });
});
