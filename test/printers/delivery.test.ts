// Raw TCP delivery to network printers: the printer receives exactly the job's bytes; an offline printer
// is retried a bounded number of times and the job is kept, sealed, until a retry delivers it; a job is
// never sent twice at once (also by two instances), and an expired job's bytes are gone. The delivery
// suite runs on SQLite and PostgreSQL.

import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { deliverNew, failAbandoned, retryDelivery, STALE_SENDING_MS, type DeliveryDeps } from '../../src/printers/deliverJob';
import { NewPrinter, type Printer } from '../../src/printers/printer';
import { SendFailure, sendRaw } from '../../src/printers/rawTcp';
import { networkPolicy, printerAddress } from '../../src/printers/networkPolicy';
import { PRINTER_GONE, type PrinterStore } from '../../src/printers/printerStore';
import { jobPrintRefusal } from '../../src/waybills/printable';
import { closedPort, fakePrinter, type FakePrinter } from '../support/fakePrinter';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';

const OPTS = { connectTimeoutMs: 2000, idleTimeoutMs: 2000 };
/** The fake printers listen on loopback, so the tests list it explicitly. */
const LOOPBACK_LISTED = networkPolicy(['127.0.0.1/32'], () => [], () => []);

describe('sendRaw', () => {
  it('hands the printer exactly the job bytes, however large', async () => {
    const printer = await fakePrinter();
    const job = randomBytes(8 * 1024 * 1024);
    await sendRaw({ host: '127.0.0.1', port: printer.port }, job, OPTS);
    const [received] = await printer.received(1);
    expect(received!.equals(job)).toBe(true);
    await printer.off();
  });

  it('says nothing was sent when the printer refuses the connection', async () => {
    const port = await closedPort();
    const failure = await sendRaw({ host: '127.0.0.1', port }, Buffer.from('^XA^XZ'), OPTS).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SendFailure);
    expect(failure).toMatchObject({ nothingSent: true, message: 'refused the connection (printer off or port closed)' }); // no address: API clients read it
  });

  it('says part of the job may be on paper when the printer drops the connection midway', async () => {
    const server = net.createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const failure = await sendRaw({ host: '127.0.0.1', port }, randomBytes(32 * 1024 * 1024), OPTS).catch((e: unknown) => e);
    server.close();
    expect(failure).toMatchObject({ name: 'SendFailure', nothingSent: false });
  });

  it('is not delivered until the printer closes its side: a job that fits the send buffers, then a reset or a printer that reads nothing, fails', async () => {
    // Reads the first chunk, stops, then resets: the rest of the job sat in buffers on the way.
    const resets = net.createServer((socket) =>
      socket.once('data', () => {
        socket.pause();
        setTimeout(() => socket.resetAndDestroy(), 200);
      }),
    );
    const deaf = net.createServer((socket) => socket.pause()); // takes the connection, never reads
    for (const [server, size] of [[resets, 1024 * 1024], [deaf, 48 * 1024]] as const) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as net.AddressInfo;
      const failure = await sendRaw({ host: '127.0.0.1', port }, randomBytes(size), OPTS).catch((e: unknown) => e);
      server.close();
      expect(failure).toMatchObject({ name: 'SendFailure', nothingSent: false });
    }
  });
});

describe.each(STORE_BACKENDS)('%s: print job delivery', (_name, backend) => {
  let db: TestDatabase;
  let deps: DeliveryDeps;
  let printers: PrinterStore;
  let printer: FakePrinter;
  let registered: Printer;
  let jobSeq = 0;
  const ring = { activeKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) };

  beforeEach(async () => {
    db = await backend.open();
    printers = db.stores.printers;
    printer = await fakePrinter();
    registered = { ...NewPrinter.parse({ name: 'line-1', host: '127.0.0.1', port: printer.port, language: 'zpl' }), createdAt: new Date().toISOString() };
    await printers.addPrinter(registered);
    deps = {
      printers,
      audit: db.stores.audit,
      ring,
      send: (to, bytes) => sendRaw(to, bytes, OPTS),
      route: (p) => printerAddress(p, LOOPBACK_LISTED),
      attempts: 3,
      backoffMs: 10,
      now: () => new Date(),
      sendRefusal: (jobId) => jobPrintRefusal(db.stores.store, jobId, new Date()),
    };
  });

  afterEach(async () => {
    await printer.off().catch(() => undefined);
    await db.close();
  });

  /** A print job row, as the print use case leaves it before delivery. */
  async function job(): Promise<string> {
    const id = `00000000-0000-4000-8000-${String(++jobSeq).padStart(12, '0')}`;
    await db.stores.store.savePrintJob({ id, createdAt: new Date().toISOString(), channel: 'cli', templateId: 'cn-4copy', format: 'zpl', host: 'printer:line-1', operator: 'test' }, [], []);
    return id;
  }

  it('delivers a job, records it, and keeps none of its bytes afterwards', async () => {
    const bytes = Buffer.from('^XA^FO0,0^GFA,1,1,1,:Z64:eJwDAAAAAAE=:0000^FS^XZ');
    const jobId = await job();
    const result = await deliverNew(deps, { jobId, printer: registered, bytes, actor: 'cli:test' });
    expect(result).toEqual({ jobId, printer: 'line-1', status: 'delivered', attempts: 1 });
    expect((await printer.received(1))[0]!.equals(bytes)).toBe(true);
    const kept = await printers.getDelivery(jobId);
    expect(kept).toMatchObject({ status: 'delivered', attempts: 1, byteLength: bytes.length });
    expect(kept!.sealed).toBeUndefined();
    expect((await deps.audit.forJob!(jobId)).map((r) => [r.action, r.outcome, r.detail?.printer])).toEqual([['deliver', 'ok', 'line-1']]);
    await expect(retryDelivery(deps, jobId, 'cli:test')).rejects.toMatchObject({ code: 'conflict' });
  });

  it('retries an offline printer a bounded number of times, keeps the job, and delivers it on retry once the printer is back', async () => {
    await printer.off();
    const bytes = randomBytes(4096);
    const jobId = await job();
    const failed = await deliverNew(deps, { jobId, printer: registered, bytes, actor: 'cli:test' });
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, error: 'printer "line-1": refused the connection (printer off or port closed)' });
    const kept = await printers.getDelivery(jobId);
    expect(kept).toMatchObject({ status: 'failed', attempts: 3, lastError: failed.error });
    expect(kept!.sealed!.ciphertext.includes(bytes)).toBe(false); // kept sealed, not in the clear

    await printer.on();
    expect(await retryDelivery(deps, jobId, 'cli:test')).toEqual({ jobId, printer: 'line-1', status: 'delivered', attempts: 1 });
    expect((await printer.received(1))[0]!.equals(bytes)).toBe(true);
    expect(await printers.getDelivery(jobId)).toMatchObject({ status: 'delivered', attempts: 4 });
    expect((await deps.audit.forJob!(jobId)).map((r) => r.outcome)).toEqual(['failed', 'ok']);
    expect(await deps.audit.verify()).toMatchObject({ ok: true });
  });

  it('sends a job once when two instances retry it at the same moment', async () => {
    await printer.off();
    const jobId = await job();
    await deliverNew({ ...deps, attempts: 1 }, { jobId, printer: registered, bytes: Buffer.from('^XA^XZ'), actor: 'cli:test' });
    await printer.on();
    const other = await db.reopen();
    // The send is held until the loser has answered, so it must meet the job mid-send (once the winner has
    // finished, a late retry is refused as already delivered instead).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const heldSend: DeliveryDeps['send'] = async (to, bytes) => {
      await held;
      return deps.send(to, bytes);
    };
    const retries = [
      retryDelivery({ ...deps, send: heldSend }, jobId, 'a'),
      retryDelivery({ ...deps, send: heldSend, printers: other.printers, audit: other.audit }, jobId, 'b'),
    ].map((p) => p.then((delivered) => ({ delivered }), (refused: unknown) => ({ refused })));
    expect(await Promise.race(retries)).toMatchObject({ refused: { code: 'in_progress' } });
    release();
    expect((await Promise.all(retries)).filter((r) => 'delivered' in r)).toHaveLength(1);
    await printer.received(1);
    expect(printer.jobs).toHaveLength(1);
  });

  it('never sends a job again on its own that a dead process was sending: failed, partly sent and audited, a person may send it', async () => {
    await printer.off();
    const [jobId, other, running] = [await job(), await job(), await job()];
    for (const id of [jobId, other, running]) {
      await deliverNew({ ...deps, attempts: 1 }, { jobId: id, printer: registered, bytes: Buffer.from('^XA^XZ'), actor: 'cli:test' });
      // A process claims the job to send it, then is killed mid-send: part of the label may be on paper.
      expect(await printers.claimDelivery(id, new Date())).toBeDefined();
    }
    await printer.on();
    await printers.touchDelivery(running, new Date(Date.now() + STALE_SENDING_MS));
    await expect(retryDelivery(deps, jobId, 'cli:test')).rejects.toMatchObject({ code: 'in_progress' });
    // Ten minutes on, the claim is taken for dead: the retry fails it rather than make a second paper with its copy codes.
    const later = { ...deps, now: () => new Date(Date.now() + STALE_SENDING_MS + 60_000) };
    const error = 'the process sending it stopped before the send ended; part of it may be printed';
    expect(await retryDelivery(later, jobId, 'cli:test')).toEqual({ jobId, printer: 'line-1', status: 'failed', attempts: 0, error });
    expect(printer.jobs).toHaveLength(0);
    expect(await printers.getDelivery(jobId)).toMatchObject({ status: 'failed', lastError: error });
    expect((await db.query('SELECT partly_sent_at FROM print_deliveries WHERE job_id = ?', jobId))[0]!.partly_sent_at).not.toBeNull();
    // The sweep does the same for every such job.
    expect(await failAbandoned(later, 'system')).toEqual([other]);
    for (const id of [jobId, other]) expect((await deps.audit.forJob!(id)).map((r) => [r.outcome, r.detail?.reason])).toEqual([['failed', undefined], ['failed', 'abandoned']]);
    // A send still running keeps its claim fresh (sendDelivery touches it every 2 minutes): never taken for dead.
    expect(await failAbandoned(later, 'system')).toEqual([]);
    expect(await printers.getDelivery(running)).toMatchObject({ status: 'sending' });
    // A person who has looked at the printer may send it again.
    expect(await retryDelivery(later, jobId, 'cli:test')).toMatchObject({ status: 'delivered' });
    await printer.received(1);
    expect(printer.jobs).toHaveLength(1);
  });

  it('ends the kept jobs of a printer that is removed: cancelled, bytes shredded, audited; a retry sends nothing', async () => {
    // Its name may be registered again, by another client's agent even: a job kept under it must not go there.
    await printer.off();
    const jobId = await job();
    await deliverNew({ ...deps, attempts: 1 }, { jobId, printer: registered, bytes: Buffer.from('^XA^XZ'), actor: 'cli:test' });
    expect(await printers.removePrinter('line-1', new Date())).toEqual([jobId]);
    expect(await printers.getDelivery(jobId)).toMatchObject({ status: 'cancelled', lastError: PRINTER_GONE });
    expect((await db.query('SELECT body, wrapped_key FROM print_deliveries WHERE job_id = ?', jobId))[0]).toEqual({ body: null, wrapped_key: null });
    await expect(retryDelivery(deps, jobId, 'cli:test')).rejects.toMatchObject({ code: 'conflict' });
    expect(await printers.removePrinter('line-1', new Date())).toBeUndefined();
  });

  it('checks the address again at every send: a host an insider changed in the database to another loopback address is never connected to', async () => {
    // Something else on this machine (a database, say), on a loopback address that is not listed.
    let connections = 0;
    const secret = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => secret.listen(0, '127.0.0.2', resolve));
    const secretPort = (secret.address() as net.AddressInfo).port;
    try {
      await db.exec(`UPDATE printers SET host = '127.0.0.2', port = ${secretPort} WHERE name = 'line-1'`);
      const jobId = await job();
      const refused = await deliverNew(deps, { jobId, printer: registered, bytes: Buffer.from('^XA^XZ'), actor: 'cli:test' });
      const reason = 'printer "line-1": its address is not allowed by the printer network policy (WAYBILL_PRINTER_NETWORKS); nothing was sent';
      expect(refused).toEqual({ jobId, printer: 'line-1', status: 'failed', attempts: 0, error: reason }); // not retried: it would be refused alike
      expect(connections).toBe(0);
      expect(await printers.getDelivery(jobId)).toMatchObject({ status: 'failed', attempts: 0, lastError: reason });
      expect((await deps.audit.forJob!(jobId)).map((r) => r.detail)).toEqual([{ job: jobId, printer: 'line-1', attempts: 0, bytes: 6, refused: 'loopback' }]);

      // Kept, not lost: once the host is put right, a retry delivers it.
      await db.exec(`UPDATE printers SET host = '127.0.0.1', port = ${printer.port} WHERE name = 'line-1'`);
      expect(await retryDelivery(deps, jobId, 'cli:test')).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(connections).toBe(0);
    } finally {
      secret.close();
    }
  });

  it('shreds the bytes of jobs never delivered once they expire; a retry then says gone', async () => {
    await printer.off();
    const jobId = await job();
    await deliverNew({ ...deps, attempts: 1 }, { jobId, printer: registered, bytes: Buffer.from('^XA^XZ'), actor: 'cli:test' });
    const others = [await job(), await job()];
    for (const other of others) await deliverNew({ ...deps, attempts: 1 }, { jobId: other, printer: registered, bytes: Buffer.from('^XA^XZ'), actor: 'cli:test' });
    // A chunk at a time, every one.
    expect(await printers.expireDeliveries(new Date(Date.now() + 1000), new Date(), 2)).toBe(3);
    for (const other of others) expect(await printers.getDelivery(other)).toMatchObject({ status: 'expired' });
    const expired = await printers.getDelivery(jobId);
    expect(expired).toMatchObject({ status: 'expired' });
    expect(expired!.sealed).toBeUndefined();
    await expect(retryDelivery(deps, jobId, 'cli:test')).rejects.toMatchObject({ code: 'gone' });
    await expect(retryDelivery(deps, '00000000-0000-4000-8000-999999999999', 'cli:test')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('refuses a second printer under a taken name and invalid registrations with field paths', async () => {
    await expect(printers.addPrinter(registered)).rejects.toMatchObject({ code: 'conflict', what: 'printer name' });
    const bad = NewPrinter.safeParse({ name: 'Line 1', host: 'http://10.0.0.5', port: 70000, language: 'escpos', dpi: 600 });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['dpi', 'host', 'language', 'name', 'port']);
  });
});
