// `waybill serve --workers N`: one port served by N worker processes under a primary. Runs the built CLI
// (cluster forks a script): after changing src/, `npm run build` first, as for npmStart.test.ts.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const ORDERS = fs
  .readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Record<string, unknown>);

interface LogLine {
  worker?: number;
  event?: string;
  pid?: number;
  slot?: number;
  route?: string;
  status?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [CLI, ...args], { env }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr })),
  );
}

/** The service as an orchestrator runs it: its JSON log lines, its stderr, and its exit. */
function start(args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  let partial = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    const text = partial + d.toString('utf8');
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line) as LogLine);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const said = async (pattern: RegExp): Promise<RegExpExecArray> => {
    for (let i = 0; i < 600; i++) {
      const m = pattern.exec(stderr);
      if (m) return m;
      if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}: ${stderr}`);
      await sleep(100);
    }
    throw new Error(`service never said ${pattern}: ${stderr}`);
  };
  const logged = async (match: (l: LogLine) => boolean): Promise<LogLine> => {
    for (let i = 0; i < 600; i++) {
      const found = logs.find(match);
      if (found) return found;
      await sleep(100);
    }
    throw new Error('expected log line never came');
  };
  return { child, logs, exited, said, logged, stderr: () => stderr };
}

describe('waybill serve --workers 2', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-workers-'));
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WAYBILL_'))),
    WAYBILL_DATA_DIR: dataDir,
    WAYBILL_LOG_LEVEL: 'info',
    WAYBILL_RELAY_NUMBERS: '+8617000000001,+8617000000002',
  };
  let service: ReturnType<typeof start> | undefined;
  afterAll(() => {
    if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('shares one port over two workers, sums their metrics, replaces a dead one and drains on SIGTERM', async () => {
    const created = await cli(['keys', 'create', '--role', 'warehouse', '--name', 'workers', '--client', 'workers'], env);
    expect(created.code).toBe(0);
    const warehouse = /^(wb[a-z]_\S+)$/m.exec(created.stdout)![1]!;
    service = start(['--workers', '2', '--port', '0', '--host', '127.0.0.1'], env);
    const s = service;
    // One line for the service, once both workers listen; each worker logs its start with its id.
    const url = (await s.said(/listening on (http:\/\/\S+) \(API docs: \S+; 2 workers\)/))[1]!;
    expect(s.stderr().match(/listening on/g)).toHaveLength(1);
    // The log lines (stdout, written asynchronously) may arrive just after that line (stderr).
    for (const worker of [1, 2]) await s.logged((l) => l.event === 'listening' && l.worker === worker);
    await s.logged(() => new Set(s.logs.filter((l) => l.event === 'worker_listening').map((l) => l.pid)).size === 2);
    const started = s.logs.filter((l) => l.event === 'listening' && l.worker !== 0);
    expect(new Set(started.map((l) => l.worker))).toEqual(new Set([1, 2]));
    const pids = s.logs.filter((l) => l.event === 'worker_listening').map((l) => l.pid);
    expect(new Set(pids).size).toBe(2);

    // Ten connections opened at once are split five and five (node's cluster alone gave 7 and 3), each
    // serving its requests on its worker.
    const { port } = new URL(url);
    const connect = () => new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => resolve(socket)).on('error', reject);
    });
    const askHealth = (socket: net.Socket) => new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString('utf8');
        if (text.includes('\r\n\r\n')) resolve(text);
      });
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    });
    const sockets = await Promise.all(Array.from({ length: 10 }, connect));
    const answers = await Promise.all(sockets.map(askHealth));
    expect(answers.every((a) => a.startsWith('HTTP/1.1 200'))).toBe(true);
    await s.logged(() => s.logs.filter((l) => l.route === '/healthz').length >= 10);
    const perWorker = new Map<number | undefined, number>();
    for (const l of s.logs.filter((l) => l.route === '/healthz')) perWorker.set(l.worker, (perWorker.get(l.worker) ?? 0) + 1);
    expect([...perWorker.values()]).toEqual([5, 5]);
    // They stay open, idle, until the drain below closes them.
    const idleClosed = Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once('close', resolve))));

    // Waybills created at once from many connections: every one 201, none 500, served by both workers.
    const create = (n: number, format: 'json' | 'pdf') =>
      fetch(`${url}/v1/waybills${format === 'pdf' ? '?format=pdf' : ''}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${warehouse}`, 'content-type': 'application/json', accept: format === 'pdf' ? 'application/pdf' : 'application/json' },
        body: JSON.stringify({ ...ORDERS[n % ORDERS.length], orderId: `W-${n}` }),
      }).then(async (r) => (await r.arrayBuffer(), r.status));
    const statuses = await Promise.all(Array.from({ length: 60 }, (_, n) => create(n, n % 3 === 0 ? 'pdf' : 'json')));
    expect(statuses).toEqual(Array(60).fill(201));
    const servedBy = new Set(s.logs.filter((l) => l.route === '/v1/waybills' && l.status === 201).map((l) => l.worker));
    expect(servedBy).toEqual(new Set([1, 2]));

    // Whichever worker takes the scrape answers the sum over both.
    const createdTotal = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return [...text.matchAll(/^waybill_waybills_created_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    for (let i = 0; i < 4; i++) expect(await createdTotal()).toBe(60);
    // The relay pool is read once, by the primary (not summed over the workers), and agrees with the store.
    const pool = JSON.parse((await cli(['relay', 'pool', '--json'], env)).stdout) as { live: number }[];
    const live = pool.reduce((n, p) => n + p.live, 0);
    expect(live).toBeGreaterThanOrEqual(60);
    const scraped = [...(await (await fetch(`${url}/metrics`)).text()).matchAll(/^waybill_relay_pool_slots\{state="live"\} (\d+)$/gm)];
    expect(scraped.map((m) => Number(m[1]))).toEqual([live]);

    // A worker killed outright is replaced in its slot; the other keeps answering new connections meanwhile.
    // (The dead one's connections die with it, as in any crash, and so may one the primary handed it in the
    // instant before it saw the death: node's cluster cannot take that back.)
    const victim = s.logs.find((l) => l.event === 'worker_listening' && l.slot === 1)!;
    process.kill(victim.pid!, 'SIGKILL');
    await s.logged((l) => l.event === 'worker_exited' && l.slot === 1);
    const healthz = () => new Promise<number>((resolve, reject) => http.get(`${url}/healthz`, { agent: false }, (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject));
    for (let i = 0; i < 10; i++) expect(await healthz()).toBe(200);
    const replacement = await s.logged((l) => l.event === 'worker_listening' && l.slot === 1 && l.pid !== victim.pid);
    expect(replacement.pid).not.toBe(victim.pid);
    const after = await Promise.all(Array.from({ length: 10 }, (_, n) => create(1000 + n, 'json').catch(() => 'lost')));
    expect(after.filter((x) => x !== 'lost').length).toBeGreaterThan(0);
    expect(after.filter((x) => x !== 'lost' && x !== 201)).toEqual([]);

    // SIGTERM with a request in flight (its body half sent): it completes, then the service exits 0.
    const body = JSON.stringify({ ...ORDERS[0], orderId: 'W-in-flight' });
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: Number(port), method: 'POST', path: '/v1/waybills', headers: { authorization: `Bearer ${warehouse}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => (res.resume(), res.on('end', () => resolve(res.statusCode!))),
      );
      req.on('error', reject);
      req.write(body.slice(0, 20));
      void (async () => {
        await sleep(500); // the connection has reached a worker
        s.child.kill('SIGTERM');
        await s.said(/shutting down/);
        await sleep(500);
        req.end(body.slice(20));
      })();
    });
    expect(await inFlight).toBe(201);
    expect(await s.exited).toBe(0);
    await idleClosed;
    expect(s.logs.filter((l) => l.event === 'stopped').map((l) => l.worker).sort()).toEqual([0, 1, 3]);
    // Nothing answered 500 at any point.
    expect(s.logs.filter((l) => (l.status ?? 0) >= 500)).toEqual([]);
  }, 180_000);

  it("delivers jobs posted to any worker to the agent linked to one of them (the pending-job poll)", async () => {
    const key = async (role: string) => /^(wb[a-z]_\S+)$/m.exec((await cli(['keys', 'create', '--role', role, '--name', `agent-${role}`, '--client', 'dock'], env)).stdout)![1]!;
    const [warehouse, printer] = [await key('warehouse'), await key('printer')];
    service = start(['--workers', '2', '--port', '0', '--host', '127.0.0.1'], env);
    const s = service;
    const url = (await s.said(/listening on (http:\/\/\S+) \(/))[1]!;
    // A hand-made agent on one worker: it acknowledges every job it gets.
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/agent`, { headers: { authorization: `Bearer ${printer}` } });
    const got: string[] = [];
    let welcomed!: () => void;
    const welcome = new Promise<void>((resolve) => (welcomed = resolve));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; jobId?: string };
      if (m.type === 'welcome') welcomed();
      if (m.type === 'job') (got.push(m.jobId!), ws.send(JSON.stringify({ type: 'ack', jobId: m.jobId, status: 'delivered' })));
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'hello', printers: [{ name: 'dock-1', language: 'zpl', dpi: 203, barcodes: 'native', text: 'raster' }] }));
    await welcome;
    // The agent's link is an open connection on its worker, so a new connection goes to the other (the
    // fewest open connections). One idle one evens them; then one connection per call alternates.
    const { port } = new URL(url);
    const idle = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => idle.once('connect', r));
    const call = (method: string, p: string, body?: unknown) =>
      new Promise<{ status: number; body: Record<string, any> }>((resolve, reject) => {
        const text = body === undefined ? undefined : JSON.stringify(body);
        const req = http.request(`${url}${p}`, { method, agent: false, headers: { authorization: `Bearer ${warehouse}`, ...(text ? { 'content-type': 'application/json' } : {}) } }, (res) => {
          let out = '';
          res.on('data', (c: Buffer) => (out += c.toString('utf8'))).on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(out) as Record<string, any> }));
        });
        req.on('error', reject);
        req.end(text);
      });
    try {
      const jobs: string[] = [];
      const answered: number[] = [];
      const ids: string[] = [];
      for (let n = 0; n < 6; n++) {
        const wb = await call('POST', '/v1/waybills', { ...ORDERS[0], orderId: `AG-${n}` });
        expect(wb.status).toBe(201);
        ids.push(wb.body.id);
      }
      // Consecutive connections alternate between the workers: the prints reach both.
      for (const id of ids) {
        const res = await call('POST', `/v1/waybills/${id}/print`, { printer: 'dock-1' });
        answered.push(res.status);
        jobs.push(res.body.job);
      }
      // Delivered at once on the agent's worker (200), queued on the other (202) and sent by the poll.
      expect(new Set(answered)).toEqual(new Set([200, 202]));
      for (const job of jobs) {
        let status = '';
        for (let i = 0; i < 200 && status !== 'delivered'; i++, await sleep(100)) status = (await call('GET', `/v1/print-jobs/${job}`)).body.status;
        expect(status).toBe('delivered');
      }
      expect(got.sort()).toEqual([...jobs].sort());
    } finally {
      idle.destroy();
      ws.close();
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    }
  }, 120_000);

  it('stops cleanly (exit 0) on a SIGTERM that comes while the workers are still starting', async () => {
    // An orchestrator may stop a service the moment it is deployed. A worker still loading ends at once (it
    // holds no work); one opening the store or saying it is ready finishes starting, then drains.
    const children = (pid: number) => fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const when of ['forked', 'first ready', 'forked', 'first ready']) {
      const s = start(['--workers', '2', '--port', '0', '--host', '127.0.0.1'], env);
      if (when === 'forked') while (!children(s.child.pid!)) await sleep(2);
      else await s.logged((l) => l.event === 'worker_listening');
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
      expect(s.logs.filter((l) => l.event === 'worker_exited')).toEqual([]);
    }
  }, 60_000);

  it('fails the start on a taken port and exits, with workers (none forked) or as one process', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      for (const workers of ['2', '1']) {
        const s = start(['--workers', workers, '--port', String(port), '--host', '127.0.0.1'], env);
        expect(await s.exited).toBe(70);
        expect(s.logs.filter((l) => l.event === 'worker_listening')).toEqual([]);
      }
    } finally {
      taken.close();
    }
  }, 30_000);

  it('refuses a worker count that is not a whole number from 1', async () => {
    const { code, stderr } = await cli(['serve', '--workers', '0'], env);
    expect(code).toBe(64);
    expect(stderr).toMatch(/--workers must be a whole number/);
  });
});
