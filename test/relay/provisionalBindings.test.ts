// Relay bindings are provisional until their print saves its waybills: they never bridge a call, a run
// that dies holds them only for a short hold (at once if its process is gone), and the sweep returns
// their slots and the run's `.partial` file. A client holds at most its share of the pool, and runs at
// most its number of batches at once across instances.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { WaybillError } from '../../src/errors';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import { parseOrders } from '../../src/order/readOrders';
import { PrintLeases, partialPath } from '../../src/printing/printLeases';
import { printWaybills, type PrintDeps } from '../../src/printing/printWaybills';
import type { PrintedWaybill, WaybillSink } from '../../src/printing/waybillSink';
import { PoolRelayProvider } from '../../src/relay/poolRelayProvider';
import { parseRelayPool } from '../../src/relay/relayPool';
import type { Stores } from '../../src/store/openStores';
import type { Keys } from '../../src/vault/keyFile';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';

jest.setTimeout(60_000);

const ROOT = path.join(__dirname, '..', '..');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-4copy');
const ORDERS = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson').filter(
  (o) => o.recipient.address.country === 'CN' && o.sender.address.country === 'CN',
);
const T0 = new Date('2026-11-23T08:00:00.000Z');

/** A print world on one database: a 10-slot pool (one number, one-digit extensions) unless told. */
function world(stores: Stores, opts: { clientShare?: number; holdSeconds?: number } = {}) {
  const clock = { now: T0 };
  const now = () => clock.now;
  const keys: Keys = { ring: { activeKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) }, tokenKey: randomBytes(32) };
  const pool = parseRelayPool('+8617000000001/1');
  const provider = new PoolRelayProvider(
    stores.relay,
    stores.couriers,
    keys,
    { pool, quarantineDays: 90, callerPolicy: 'anyone', callLimitSeconds: 600, clientShare: opts.clientShare ?? 1 },
    now,
  );
  const leases = new PrintLeases(stores.leases, { holdSeconds: opts.holdSeconds ?? 60, quarantineDays: 90, now });
  const deps: PrintDeps = {
    store: stores.store,
    audit: stores.audit,
    keys,
    scanBaseUrl: 'https://scan.example.com',
    metrics: fontMetrics,
    maxLifetimeDays: 90,
    relay: { provider, maxDays: 60 },
    leases,
    now,
  };
  const print = (orders = ORDERS.slice(0, 2), sink: WaybillSink = { add: async () => {}, finish: async () => {} }, clientId?: string) =>
    printWaybills(deps, { orders, template, format: 'json', sink, channel: 'cli', host: 'test', operator: 'test', ...(clientId ? { clientId } : {}) });
  /** What the PBX hears for every slot a waybill's bindings hold. */
  const resolveAll = async (waybillId: string) =>
    Promise.all((await stores.relay.forWaybill(waybillId)).map(async (b) => (await provider.resolve({ to: b.number, ext: b.ext }, clock.now)).action + ':' + b.party));
  const live = async () => (await stores.relay.utilisation(pool, clock.now))[0]!.live;
  return { clock, provider, leases, deps, print, resolveAll, live };
}

describe.each(STORE_BACKENDS)('%s provisional relay bindings', (_name, backend) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await backend.open();
  });
  afterEach(() => db.close());

  it('never bridges a call to a number whose print has not saved its waybill, and bridges once it has', async () => {
    const w = world(db.stores);
    const heardWhilePrinting: string[] = [];
    const sink: WaybillSink = {
      add: async (printed: PrintedWaybill) => void heardWhilePrinting.push(...(await w.resolveAll(printed.id))),
      finish: async () => {},
    };
    const summary = await w.print(ORDERS.slice(0, 2), sink);
    expect(heardWhilePrinting).toEqual(['reject:recipient', 'reject:sender', 'reject:recipient', 'reject:sender']);
    for (const { id } of summary.waybills) expect(await w.resolveAll(id)).toEqual(['bridge:recipient', 'bridge:sender']);
    expect((await db.query('SELECT count(*) AS n FROM print_leases'))[0]!.n).toBe(0); // the save ended the run's lease
  });

  it('answers a provisional number as unknown, saying nothing of its waybill', async () => {
    const w = world(db.stores);
    const lease = (await w.leases.take())!;
    await w.provider.bind([{ waybillId: 'w-unsaved', party: 'recipient', realPhone: '+8613962584017', partyPhones: [], validFrom: T0, expiresAt: new Date(T0.getTime() + 86_400_000), leaseId: lease.id }], 'zh');
    const [b] = await db.stores.relay.forWaybill('w-unsaved');
    expect(await w.provider.resolve({ to: b!.number, ext: b!.ext }, T0)).toEqual({ action: 'reject', reason: 'unknown', announcement: 'relay-unknown-number' });
  });

  it('returns the slots of a run that stopped renewing after the hold, keeps saved ones, and refuses the dead run’s late save', async () => {
    const w = world(db.stores, { holdSeconds: 60 });
    const saved = await w.print(ORDERS.slice(0, 1));
    // A run on another machine that died mid-print: a lease and two bindings, no waybill.
    const remote = new PrintLeases(db.stores.leases, { holdSeconds: 60, quarantineDays: 90, now: () => w.clock.now, host: 'another-machine', pid: 4242 });
    const dead = (await remote.take())!;
    for (const party of ['recipient', 'sender'] as const)
      await w.provider.bind([{ waybillId: 'w-dead', party, realPhone: '+8613962584017', partyPhones: [], validFrom: T0, expiresAt: new Date(T0.getTime() + 86_400_000), leaseId: dead.id }], 'zh');
    expect(await w.live()).toBe(4);

    w.clock.now = new Date(T0.getTime() + 59_000); // within the hold: the run may still be alive
    expect(await w.leases.sweep()).toEqual({ leases: 0, bindings: 0, quarantined: 0, staged: 0, files: 0, filesPlaced: 0 });
    expect(await w.resolveAll('w-dead')).toEqual(['reject:recipient', 'reject:sender']);

    w.clock.now = new Date(T0.getTime() + 60_000);
    expect(await w.leases.sweep()).toEqual({ leases: 1, bindings: 2, quarantined: 0, staged: 0, files: 0, filesPlaced: 0 });
    expect(await db.stores.relay.forWaybill('w-dead')).toEqual([]);
    expect(await w.live()).toBe(2); // the saved waybill's two
    expect(await w.resolveAll(saved.waybills[0]!.id)).toEqual(['bridge:recipient', 'bridge:sender']);

    const job = { id: randomUUID(), createdAt: T0.toISOString(), channel: 'cli' as const, templateId: 'cn-4copy', format: 'json', host: 'h', operator: 'o' };
    await expect(db.stores.store.savePrintJob(job, [], [], { leaseId: dead.id })).rejects.toMatchObject({ code: 'unavailable' });
    expect(await db.query('SELECT id FROM print_jobs WHERE id = ?', job.id)).toEqual([]);
  });

  it('ends in quarantine the numbers of a streamed run that died, as they may be on its pages already, even once another batch took its slot', async () => {
    const w = world(db.stores, { holdSeconds: 60 });
    // An API batch on another machine, killed mid-stream: its pages went out with two numbers on them.
    const remote = new PrintLeases(db.stores.leases, { holdSeconds: 60, quarantineDays: 90, now: () => w.clock.now, host: 'another-machine', pid: 4242 });
    const dead = (await remote.take({ clientId: 'acme', slots: 1, streamed: true }))!;
    for (const party of ['recipient', 'sender'] as const)
      await w.provider.bind([{ waybillId: 'w-streamed', party, realPhone: '+8613962584017', partyPhones: [], validFrom: T0, expiresAt: new Date(T0.getTime() + 86_400_000), leaseId: dead.id }], 'zh');
    const onPaper = (await db.stores.relay.forWaybill('w-streamed')).map((b) => `${b.number}/${b.ext}`);

    w.clock.now = new Date(T0.getTime() + 60_000);
    expect(await remote.take({ clientId: 'acme', slots: 1 })).toBeDefined(); // the client's next batch takes the dead run's slot
    expect(await w.leases.sweep()).toMatchObject({ leases: 1, bindings: 0, quarantined: 2 });
    expect(await w.resolveAll('w-streamed')).toEqual(['reject:recipient', 'reject:sender']);
    const held = await db.query('SELECT held_until FROM relay_slots ORDER BY ext');
    expect(held.map((r) => r.held_until)).toEqual([new Date(w.clock.now.getTime() + 90 * 86_400_000).toISOString(), new Date(w.clock.now.getTime() + 90 * 86_400_000).toISOString()]);
    const [stored] = await db.query("SELECT key_id, sealed FROM relay_bindings WHERE waybill_id = 'w-streamed'");
    expect(stored).toEqual({ key_id: null, sealed: null }); // the real number is shredded

    // The pool's other eight slots go to new buyers; the two on the dead run's paper do not.
    const next = await w.print(ORDERS.slice(0, 5).map((o, i) => ({ ...o, orderId: `${o.orderId}-next-${i}` })));
    const reissued = (await Promise.all(next.waybills.map((x) => db.stores.relay.forWaybill(x.id)))).flat().map((b) => `${b.number}/${b.ext}`);
    expect(reissued).toHaveLength(8);
    expect(reissued.filter((slot) => onPaper.includes(slot))).toEqual([]);
  });

  it('frees at once the run of a process on this host that is gone, removes its .partial file, and leaves a live run alone', async () => {
    const w = world(db.stores);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-partial-'));
    const run = (pid: number) => new PrintLeases(db.stores.leases, { holdSeconds: 60, quarantineDays: 90, now: () => w.clock.now, host: 'this-host', pid });
    const files = { dead: partialPath(path.join(dir, 'labels.pdf'), 4242), live: partialPath(path.join(dir, 'labels.pdf'), 4343), notOurs: path.join(dir, 'labels.pdf') };
    for (const f of Object.values(files)) fs.writeFileSync(f, 'x');
    const dead = (await run(4242).take({ output: files.dead }))!;
    const live = (await run(4343).take({ output: files.live }))!;
    await run(4242).take({ output: files.notOurs }); // a path that is not a partial of that process is never removed
    for (const [waybillId, lease] of [['w-dead', dead], ['w-live', live]] as const)
      await w.provider.bind([{ waybillId, party: 'recipient', realPhone: '+8613962584017', partyPhones: [], validFrom: T0, expiresAt: new Date(T0.getTime() + 86_400_000), leaseId: lease.id }], 'zh');

    const sweeper = new PrintLeases(db.stores.leases, { holdSeconds: 60, quarantineDays: 90, now: () => w.clock.now, host: 'this-host', pid: 100, isAlive: (pid) => pid === 4343 });
    expect(await sweeper.sweep()).toEqual({ leases: 2, bindings: 1, quarantined: 0, staged: 0, files: 1, filesPlaced: 0 });
    expect(fs.existsSync(files.dead)).toBe(false);
    expect(fs.existsSync(files.live)).toBe(true);
    expect(fs.existsSync(files.notOurs)).toBe(true);
    expect(await db.stores.relay.forWaybill('w-dead')).toEqual([]);
    expect(await w.resolveAll('w-live')).toEqual(['reject:recipient']); // still provisional, still held
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('puts in place the file of a run killed after its save (its waybills are recorded), never over another file', async () => {
    const w = world(db.stores);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-saved-'));
    const run = (pid: number) => new PrintLeases(db.stores.leases, { holdSeconds: 60, quarantineDays: 90, now: () => w.clock.now, host: 'this-host', pid });
    const sweeper = new PrintLeases(db.stores.leases, { holdSeconds: 60, quarantineDays: 90, now: () => w.clock.now, host: 'this-host', pid: 100, isAlive: () => false });
    /** A `waybill print --out` run of process `pid` that saves and dies before its rename: its summary's placed() is never called. */
    const diesAfterSave = async (out: string, pid: number) => {
      const partial = partialPath(out, pid);
      const sink: WaybillSink = { add: async () => {}, finish: async () => fs.writeFileSync(partial, `labels of ${pid}`) };
      const summary = await printWaybills({ ...w.deps, leases: run(pid) }, { orders: ORDERS.slice(0, 1), template, format: 'json', sink, channel: 'cli', host: 'test', operator: 'test', output: partial });
      expect(summary.placed).toBeDefined();
      expect(await db.query('SELECT saved_job FROM print_leases WHERE pid = ?', pid)).toEqual([{ saved_job: summary.jobId }]);
      return { partial, summary };
    };

    const out = path.join(dir, 'labels.pdf');
    const { partial, summary } = await diesAfterSave(out, 5151);
    expect(await sweeper.sweep()).toMatchObject({ leases: 1, bindings: 0, files: 0, filesPlaced: 1 });
    expect([fs.readFileSync(out, 'utf8'), fs.existsSync(partial)]).toEqual(['labels of 5151', false]);
    expect((await w.resolveAll(summary.waybills[0]!.id)).map((a) => a.split(':')[0])).toEqual(['bridge', 'bridge']); // recorded: its numbers stay live

    // Another file is there by now (a later run's): it stays, and so does the dead run's.
    const other = await diesAfterSave(out, 5252);
    expect(await sweeper.sweep()).toMatchObject({ leases: 1, filesPlaced: 0 });
    expect([fs.readFileSync(out, 'utf8'), fs.existsSync(other.partial)]).toEqual(['labels of 5151', true]);
    expect(Number((await db.query('SELECT count(*) AS n FROM print_leases'))[0]!.n)).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores a create’s lease with its first relay claim, not in a write of its own, before anything is provisional', async () => {
    const w = world(db.stores);
    const ownWrites = jest.spyOn(db.stores.leases, 'take');
    const whilePrinting: { leases: unknown[]; bindings: unknown[] }[] = [];
    const sink: WaybillSink = {
      add: async (printed: PrintedWaybill) =>
        void whilePrinting.push({
          leases: (await db.query('SELECT id FROM print_leases')).map((r) => r.id),
          bindings: (await db.stores.relay.forWaybill(printed.id)).map((b) => b.leaseId),
        }),
      finish: async () => {},
    };
    await w.print(ORDERS.slice(0, 1), sink);
    expect(ownWrites).not.toHaveBeenCalled();
    const [{ leases, bindings }] = whilePrinting as [(typeof whilePrinting)[number]];
    expect(leases).toHaveLength(1);
    expect(bindings).toEqual([leases[0], leases[0]]);
    expect(await db.query('SELECT count(*) AS n FROM print_leases')).toEqual([{ n: 0 }]);
  });

  it('stores the lease of a run that claims nothing (its client over its share, the provider down) before it prints', async () => {
    for (const [trouble, clientId] of [['over share', 'acme'], ['provider down', 'beta']] as const) {
      const w = world(db.stores, { clientShare: 0.1 }); // one slot per client
      if (trouble === 'over share') await w.print(ORDERS.slice(0, 1), undefined, clientId); // holds its slot
      else
        w.provider.bind = async () => {
          throw new Error('the provider went away');
        };
      const seen: unknown[] = [];
      const sink: WaybillSink = { add: async () => void seen.push((await db.query('SELECT count(*) AS n FROM print_leases'))[0]!.n), finish: async () => {} };
      const summary = await w.print(ORDERS.slice(1, 2), sink, clientId);
      expect(summary.warnings.join()).toMatch(/no relay number could be bound/);
      expect(seen).toEqual([1]);
      expect(await db.query('SELECT count(*) AS n FROM print_leases')).toEqual([{ n: 0 }]); // the save ended it
    }
  });

  it('releases the provisional bindings of a print that fails, and ends its lease', async () => {
    const w = world(db.stores);
    const failing: WaybillSink = { add: async () => {}, finish: async () => { throw new Error('printer went away'); } };
    await expect(w.print(ORDERS.slice(0, 2), failing)).rejects.toThrow('printer went away');
    expect(await db.query('SELECT count(*) AS n FROM relay_bindings')).toEqual([{ n: 0 }]);
    expect(await db.query('SELECT count(*) AS n FROM print_leases')).toEqual([{ n: 0 }]);
  });

  it('ends the lease of a failed print even when releasing its bindings fails, and the sweep returns them', async () => {
    const w = world(db.stores);
    w.provider.release = async () => {
      throw new Error('the database went away');
    };
    const failing: WaybillSink = { add: async () => {}, finish: async () => { throw new Error('printer went away'); } };
    await expect(w.print(ORDERS.slice(0, 2), failing)).rejects.toThrow();
    // The lease is gone at once (a batch slot of its client is free again), not only after its hold.
    expect(await db.query('SELECT count(*) AS n FROM print_leases')).toEqual([{ n: 0 }]);
    expect(await w.leases.sweep()).toEqual({ leases: 0, bindings: 4, quarantined: 0, staged: 0, files: 0, filesPlaced: 0 });
    expect(await db.query('SELECT count(*) AS n FROM relay_bindings')).toEqual([{ n: 0 }]);
  });
});

describe.each(STORE_BACKENDS)('%s fair share of the relay pool', (_name, backend) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await backend.open();
  });
  afterEach(() => db.close());

  it('falls a client back to the service number once it holds its share, alerting with the client named, while others still get numbers', async () => {
    const w = world(db.stores, { clientShare: 0.5 }); // 5 of 10 slots per client
    const acme = await w.print(ORDERS.slice(0, 4), undefined, 'acme');
    const relayed = await Promise.all(acme.waybills.map(async (x) => (await db.stores.relay.forWaybill(x.id)).map((b) => b.party)));
    expect(relayed).toEqual([['recipient', 'sender'], ['recipient', 'sender'], ['recipient'], []]);
    expect(acme.warnings.filter((m) => m.includes('no relay number'))).toHaveLength(2);
    const unavailable = await Promise.all(acme.waybills.map(async (x) => (await db.stores.store.findWaybillById(x.id))!.relayUnavailable ?? false));
    expect(unavailable).toEqual([false, false, true, true]);

    const alerts = await db.query('SELECT kind, detail FROM alerts ORDER BY id');
    expect(alerts.map((a) => a.kind)).toEqual(['relay_client_quota', 'relay_client_quota']);
    for (const a of alerts) expect(String(a.detail)).toMatch(/client acme holds its share of the relay pool/);

    const beta = await w.print(ORDERS.slice(0, 2), undefined, 'beta');
    for (const x of beta.waybills) expect((await db.stores.relay.forWaybill(x.id)).map((b) => b.party)).toEqual(['recipient', 'sender']);
  });

  it('lets a client run its number of batches at once across two instances on one database, no more', async () => {
    const other = await db.reopen();
    const clock = { now: T0 };
    const instances = [db.stores, other].map((s) => new PrintLeases(s.leases, { holdSeconds: 60, quarantineDays: 90, now: () => clock.now }));
    const batch = (i: number, clientId = 'acme') => instances[i]!.take({ clientId, slots: 2 });
    const first = (await batch(0))!;
    expect(await batch(1)).toBeDefined();
    expect(await batch(0)).toBeUndefined();
    expect(await batch(1)).toBeUndefined();
    expect(await batch(1, 'beta')).toBeDefined(); // another client's batches are its own
    await first.drop();
    expect(await batch(1)).toBeDefined();
    expect(await batch(0)).toBeUndefined();
    clock.now = new Date(T0.getTime() + 60_000); // both acme runs stopped renewing: their slots are free again
    expect(await batch(0)).toBeDefined();
    expect(await batch(1)).toBeDefined();
    expect(await batch(1)).toBeUndefined();
  });

  it('refuses a batch over the client’s limit before anything is printed', async () => {
    const w = world(db.stores);
    await w.leases.take({ clientId: 'acme', slots: 1 });
    const refused = printWaybills(w.deps, { orders: ORDERS.slice(0, 1), template, format: 'json', sink: { add: async () => {}, finish: async () => {} }, channel: 'http', host: 'h', operator: 'o', clientId: 'acme', batchSlots: 1 });
    await expect(refused).rejects.toEqual(new WaybillError('unavailable', 'too many batches of this client are running (at most 1 at once); retry shortly', [], 5));
    expect(await db.query('SELECT count(*) AS n FROM relay_bindings')).toEqual([{ n: 0 }]);
  });
});
