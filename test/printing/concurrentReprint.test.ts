// Prints of one waybill running at once, on two instances of one database (two connections on one SQLite
// file, as `serve --workers` or a CLI run beside `serve` has; two pools on PostgreSQL): every reprint
// succeeds with a print number and copy codes of its own, and the audit log has one record per print.
// Two first prints of one order id: one saves, the other gets the conflict a second create after it gets.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { WaybillError } from '../../src/errors';
import type { WaybillLayout } from '../../src/layout/layoutWaybill';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import type { Order } from '../../src/order/orderSchema';
import { parseOrders } from '../../src/order/readOrders';
import { partialPath, PrintLeases } from '../../src/printing/printLeases';
import { printWaybills, reprintWaybill, reprintWaybills, type PrintDeps } from '../../src/printing/printWaybills';
import type { PrintedWaybill, WaybillSink } from '../../src/printing/waybillSink';
import type { Stores } from '../../src/store/openStores';
import { SqliteStore } from '../../src/store/sqliteStore';
import type { Keys } from '../../src/vault/keyFile';
import { raceProcesses } from '../support/raceProcesses';
import { STORE_BACKENDS, TEST_TOKEN_KEY, type TestDatabase } from '../support/storeBackends';
import { recordWaybillEvent } from '../../src/waybills/lifecycle';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-4copy');
const SAMPLE = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson')[0]!;
const ORDER: Order = { ...SAMPLE, orderId: 'RACE-1' };
const REPRINTS = 8;

/** One paper as its sink saw it: the print number it shows (from its reprint mark) and its copy codes. */
interface Paper {
  reprintMarks: string[];
  copyCodes: string[];
}

/** A sink that takes its time over each waybill (as a renderer does), so that prints started together overlap. */
function slowSink(papers: Paper[], ms: () => number): WaybillSink {
  return {
    draws: false,
    add: async (w: PrintedWaybill, layout: WaybillLayout) => {
      await new Promise((resolve) => setTimeout(resolve, ms()));
      papers.push({ reprintMarks: layout.shown.map((c) => c.fields.reprint ?? ''), copyCodes: Object.values(w.copyCodes) });
    },
    finish: async () => {},
  };
}

/** One instance of the service on the database: its own stores, leases and clock-free deps; the keys are shared. */
function instance(stores: Stores, keys: Keys): PrintDeps {
  const leases = new PrintLeases(stores.leases, { holdSeconds: 60, quarantineDays: 90 });
  return { store: stores.store, audit: stores.audit, keys, scanBaseUrl: 'https://scan.example.com', metrics: fontMetrics, maxLifetimeDays: 90, leases };
}

const printRequest = (sink: WaybillSink) => ({ orders: [ORDER], template, format: 'pdf', sink, channel: 'http' as const, host: 'test', operator: 'test', clientId: 'acme' });
const reprintRequest = (sink: WaybillSink) => ({ template, format: 'pdf', sink, channel: 'http' as const, host: 'test', operator: 'test' });

describe.each(STORE_BACKENDS)('%s prints of one waybill at once', (_name, backend) => {
  let db: TestDatabase;
  let keys: Keys;
  let instances: PrintDeps[];
  beforeEach(async () => {
    db = await backend.open();
    // The token key the stores were opened with, as one key file gives both in the service.
    keys = { ring: { activeKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) }, tokenKey: TEST_TOKEN_KEY };
    instances = [instance(db.stores, keys), instance(await db.reopen(), keys)];
  });
  afterEach(() => db.close());

  const count = async (table: string) => Number((await db.query(`SELECT count(*) AS n FROM ${table}`))[0]!.n);

  async function firstPrint(): Promise<{ id: string; waybillNo: string; papers: Paper[] }> {
    const papers: Paper[] = [];
    const summary = await printWaybills(instances[0]!, printRequest(slowSink(papers, () => 0)));
    return { ...summary.waybills[0]!, papers };
  }

  it('gives every concurrent reprint its own print number and copy codes, and audits each once', async () => {
    const first = await firstPrint();
    const waybill = (await db.stores.store.findWaybillById(first.id))!;
    const papers: Paper[][] = Array.from({ length: REPRINTS }, () => []);
    const results = await Promise.allSettled(
      papers.map((paper, i) => reprintWaybill(instances[i % 2]!, { ...reprintRequest(slowSink(paper, () => 5 + Math.random() * 30)), waybill })),
    );

    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    expect(failures).toEqual([]);
    const printNos = results.map((r) => (r as PromiseFulfilledResult<{ printNo: number }>).value.printNo);
    expect([...printNos].sort((a, b) => a - b)).toEqual(Array.from({ length: REPRINTS }, (_, i) => i + 2));

    // Each paper shows its own number: print n says 重印 第(n-1)次 on every copy.
    for (const [i, [paper]] of papers.entries()) {
      expect(paper!.reprintMarks).toEqual(template.labels.flatMap((l) => l.sections).map(() => `重印 第${printNos[i]! - 1}次`));
    }
    // No two papers share a copy code, and the store holds exactly what each paper shows under its number.
    const allCodes = [...first.papers, ...papers.flat()].flatMap((p) => p.copyCodes);
    expect(allCodes).toHaveLength((REPRINTS + 1) * template.copies.length);
    expect(new Set(allCodes).size).toBe(allCodes.length);
    const rows = await db.query('SELECT copy_code, print_no FROM copy_prints WHERE waybill_id = ?', first.id);
    const stored = new Map<number, string[]>();
    for (const r of rows) stored.set(Number(r.print_no), [...(stored.get(Number(r.print_no)) ?? []), String(r.copy_code)]);
    expect(stored.get(1)!.sort()).toEqual(first.papers[0]!.copyCodes.sort());
    for (const [i, [paper]] of papers.entries()) expect(stored.get(printNos[i]!)!.sort()).toEqual(paper!.copyCodes.sort());
    expect(stored.size).toBe(REPRINTS + 1);

    // One audit record per print, each with its number.
    const audit = await db.stores.audit.forWaybill(first.waybillNo);
    expect(audit.map((r) => r.action).sort()).toEqual(['print', ...Array.from({ length: REPRINTS }, () => 'reprint')]);
    expect(audit.map((r) => Number(r.detail?.printNo)).sort((a, b) => a - b)).toEqual(Array.from({ length: REPRINTS + 1 }, (_, i) => i + 1));
    // Nothing of the runs is left: their claims and leases went with their saves.
    expect(await count('staged_copy_prints')).toBe(0);
    expect(await count('print_leases')).toBe(0);
    expect(await count('print_jobs')).toBe(REPRINTS + 1);
  });

  it('gives reprints in several processes at once (serve --workers, CLI runs) numbers and codes of their own', async () => {
    const first = await firstPrint();
    const processes = 3;
    const each = 2;
    const results = (await raceProcesses({
      processes,
      env: () => ({ STORE_LOCATION: JSON.stringify(db.location), WAYBILL_ID: first.id, DATA_KEY: keys.ring.keys.get('k1')!.toString('base64'), TOKEN_KEY: keys.tokenKey.toString('base64') }),
      setup: `
        const path = require('node:path');
        const { openStores } = src('store/openStores.ts');
        const { PrintLeases } = src('printing/printLeases.ts');
        const { reprintWaybill } = src('printing/printWaybills.ts');
        const { loadTemplate } = src('layout/loadTemplate.ts');
        const { fontMetrics } = src('layout/textMeasure.ts');
        const stores = await openStores(JSON.parse(process.env.STORE_LOCATION), undefined, Buffer.from(process.env.TOKEN_KEY, 'base64'));
        const keys = { ring: { activeKeyId: 'k1', keys: new Map([['k1', Buffer.from(process.env.DATA_KEY, 'base64')]]) }, tokenKey: Buffer.from(process.env.TOKEN_KEY, 'base64') };
        const deps = { store: stores.store, audit: stores.audit, keys, scanBaseUrl: 'https://scan.example.com', metrics: fontMetrics, maxLifetimeDays: 90,
          leases: new PrintLeases(stores.leases, { holdSeconds: 60, quarantineDays: 90 }) };
        const template = loadTemplate(${JSON.stringify(path.join(ROOT, 'templates'))}, 'cn-4copy');
        const waybill = await stores.store.findWaybillById(process.env.WAYBILL_ID);`,
      race: `
        const one = async () => {
          let codes = [];
          const sink = { draws: false, add: async (w) => { codes = Object.values(w.copyCodes); await new Promise((r) => setTimeout(r, 5 + Math.random() * 20)); }, finish: async () => {} };
          try {
            const done = await reprintWaybill(deps, { waybill, template, format: 'pdf', sink, channel: 'cli', host: 'test', operator: 'test' });
            return { printNo: done.printNo, codes };
          } catch (e) {
            return { error: String(e && e.message) };
          }
        };
        const got = await Promise.all(Array.from({ length: ${each} }, one));
        await stores.close();
        return got;`,
    })) as { printNo?: number; codes?: string[]; error?: string }[][];
    const all = results.flat();
    expect(all.flatMap((r) => (r.error ? [r.error] : []))).toEqual([]);
    expect(all.map((r) => r.printNo!).sort((a, b) => a - b)).toEqual(Array.from({ length: processes * each }, (_, i) => i + 2));
    const codes = [...first.papers.flatMap((p) => p.copyCodes), ...all.flatMap((r) => r.codes!)];
    expect(new Set(codes).size).toBe((processes * each + 1) * template.copies.length);
    expect((await db.stores.audit.forWaybill(first.waybillNo)).map((r) => Number(r.detail?.printNo)).sort((a, b) => a - b)).toEqual(Array.from({ length: processes * each + 1 }, (_, i) => i + 1));
    expect(await count('print_leases')).toBe(0);
  });

  it('gives a --reprint run of several waybills, beside single reprints, a number of its own for each', async () => {
    const first = await firstPrint();
    const waybill = (await db.stores.store.findWaybillById(first.id))!;
    const runs = Array.from({ length: 4 }, (_, i) =>
      i % 2 === 0
        ? reprintWaybills(instances[0]!, { ...reprintRequest(slowSink([], () => 10 + Math.random() * 20)), waybills: [waybill], copies: 'print', output: partialPath(path.join(os.tmpdir(), 'reprint.pdf')) }).then(async (d) => {
            await d.placed!(); // as `waybill print --reprint` does once its file is in place: the lease ends
            return d.printNos;
          })
        : reprintWaybill(instances[1]!, { ...reprintRequest(slowSink([], () => 10 + Math.random() * 20)), waybill }).then((d) => [d.printNo]),
    );
    const printNos = (await Promise.all(runs)).flat();
    expect(printNos.sort((a, b) => a - b)).toEqual([2, 3, 4, 5]);
    expect(await count('print_leases')).toBe(0);
  });

  it('frees the number a failed reprint claimed: the next paper takes it, no gap', async () => {
    const first = await firstPrint();
    const waybill = (await db.stores.store.findWaybillById(first.id))!;
    const broken: WaybillSink = {
      add: async () => {
        throw new Error('the printer went away');
      },
      finish: async () => {},
    };
    await expect(reprintWaybill(instances[1]!, { ...reprintRequest(broken), waybill })).rejects.toThrow('the printer went away');
    expect(await count('staged_copy_prints')).toBe(0);
    expect(await count('print_leases')).toBe(0);
    const done = await reprintWaybill(instances[0]!, { ...reprintRequest(slowSink([], () => 0)), waybill });
    expect(done.printNo).toBe(2);
  });

  it('counts a running reprint in the number a view shows next', async () => {
    const first = await firstPrint();
    const waybill = (await db.stores.store.findWaybillById(first.id))!;
    let viewed: number | undefined;
    const looking: WaybillSink = {
      draws: false,
      add: async () => {
        viewed = await db.stores.store.nextPrintNo(first.id);
      },
      finish: async () => {},
    };
    const done = await reprintWaybill(instances[0]!, { ...reprintRequest(looking), waybill });
    expect(done.printNo).toBe(2);
    expect(viewed).toBe(3);
    expect(await db.stores.store.nextPrintNo(first.id)).toBe(3);
  });

  it('refuses all but one of concurrent first prints of one order id, naming the waybill that was saved', async () => {
    const RACERS = 4;
    const results = await Promise.allSettled(
      Array.from({ length: RACERS }, (_, i) => printWaybills(instances[i % 2]!, printRequest(slowSink([], () => 50 + Math.random() * 30)))),
    );
    const saved = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.waybills[0]!] : []));
    expect(saved).toHaveLength(1);
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as WaybillError] : []));
    expect(refusals).toHaveLength(RACERS - 1);
    for (const e of refusals) {
      expect(e).toBeInstanceOf(WaybillError);
      expect({ code: e.code, message: e.message, issues: e.issues }).toEqual({
        code: 'conflict',
        message: 'some orders already have a waybill',
        issues: [{ index: 0, path: ['orderId'], message: `a waybill exists for this order id: ${saved[0]!.waybillNo} (id ${saved[0]!.id})` }],
      });
    }
    // The same refusal as a create after the save.
    await expect(printWaybills(instances[0]!, printRequest(slowSink([], () => 0)))).rejects.toMatchObject({ code: 'conflict', issues: refusals[0]!.issues });
    expect(await count('waybills')).toBe(1);
    expect(await count('print_leases')).toBe(0);
    expect((await db.stores.audit.forWaybill(saved[0]!.waybillNo)).map((r) => r.action)).toEqual(['print']);
  });
});

describe.each(STORE_BACKENDS)('%s a reprint and a cancel at once', (_name, backend) => {
  it('records no paper after the cancel: a reprint whose waybill was cancelled while it rendered is refused at its save', async () => {
    const db = await backend.open();
    try {
      const keys = { ring: { activeKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) }, tokenKey: TEST_TOKEN_KEY };
      const deps = instance(db.stores, keys);
      const summary = await printWaybills(deps, printRequest(slowSink([], () => 0)));
      const waybill = (await db.stores.store.findWaybillById(summary.waybills[0]!.id))!;
      // The cancel commits while the reprint is drawing its labels (read as live before it began).
      const cancelling: WaybillSink = {
        draws: false,
        add: async () => {
          await recordWaybillEvent({ store: db.stores.store, audit: db.stores.audit, retentionGraceDays: 7, now: () => new Date() }, { waybillNo: waybill.waybillNo, event: { type: 'cancelled' }, actor: 'test' });
        },
        finish: async () => {},
      };
      await expect(reprintWaybill(deps, { ...reprintRequest(cancelling), waybill })).rejects.toMatchObject({ code: 'cancelled' });
      expect(Number((await db.query('SELECT count(*) AS n FROM copy_prints WHERE print_no > 1'))[0]!.n)).toBe(0);
      expect((await db.stores.audit.forWaybill(waybill.waybillNo)).map((r) => r.action)).toEqual(['print', 'event']);
      expect(Number((await db.query('SELECT count(*) AS n FROM print_leases'))[0]!.n)).toBe(0);
    } finally {
      await db.close();
    }
  });
});

test("a waybill's claims are found by staged_copy_prints' copy-code index, never by walking a long print's staged copies", async () => {
  const sqlite = SqliteStore.open(':memory:');
  const seen: string[] = [];
  const prepare = sqlite.database.prepare.bind(sqlite.database);
  sqlite.database.prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof sqlite.database.prepare;
  try {
    await sqlite.nextPrintNo('w');
    delete (sqlite.database as Partial<typeof sqlite.database>).prepare;
    const sql = seen.find((s) => /staged_copy_prints/.test(s))!;
    const plan = (sqlite.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array.from(sql.matchAll(/\?/g), () => null)) as { detail: string }[]).map((r) => r.detail);
    expect(plan).toContainEqual(expect.stringMatching(/^SEARCH s USING (COVERING )?INDEX staged_copy_prints_code \(copy_code=\?\)/));
    expect(plan.filter((s) => /^SCAN /.test(s))).toEqual([]);
  } finally {
    delete (sqlite.database as Partial<typeof sqlite.database>).prepare;
    sqlite.close();
  }
});
