// The warehouse agent end to end: a real service (either store), the real `waybill agent` command in this
// process, a fake raw-TCP printer, a fake `lp` (WAYBILL_AGENT_LP) and a printer that drops mid-job — all on
// 127.0.0.1. Jobs reach printers behind the agent, wait while it is away, and failures are kept for a retry.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { agentCommand } from '../../src/agent/agentCommand';
import { helloOf } from '../../src/agent/agentProtocol';
import { readPrintersFile } from '../../src/agent/agentCommand';
import { agentHost } from '../../src/agent/agentHost';
import { EXIT, main } from '../../src/cli';
import { validateOrders } from '../../src/order/readOrders';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { fakePrinter, type FakePrinter } from '../support/fakePrinter';
import { STORE_BACKENDS } from '../support/storeBackends';
import { PRINTER_GONE } from '../../src/printers/printerStore';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'order.json'), 'utf8')) as Record<string, unknown>;

/**
 * An agent speaking the protocol by hand, to lose its link in the middle of a job: raw TCP cannot show a
 * drop of a small job (the kernel takes it whole), but a link lost before the acknowledgement can.
 */
async function handAgent(url: string, key: string, printer: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/agent`, { headers: { authorization: `Bearer ${key}` } });
  const inbox: Record<string, any>[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    inbox.push(JSON.parse(String(d)) as Record<string, any>);
    waiters.splice(0).forEach((f) => f());
  });
  const next = (type: string) =>
    new Promise<Record<string, any>>((resolve) => {
      const check = () => {
        const i = inbox.findIndex((m) => m.type === type);
        if (i >= 0) resolve(inbox.splice(i, 1)[0]!);
        else waiters.push(check);
      };
      check();
    });
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'hello', printers: [{ name: printer, language: 'zpl', dpi: 203, barcodes: 'native', text: 'raster' }] }));
  await next('welcome');
  return { ws, next };
}

/** The agent command as a warehouse runs it, until `stop()`; its log lines are kept (JSON). */
function runAgent(w: ApiWorld, key: string, printersFile: string, env: Record<string, string>) {
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let stop!: () => void;
  const until = new Promise<void>((resolve) => (stop = resolve));
  const io = {
    out: () => undefined,
    err: (l: string) => {
      lines.push(JSON.parse(l) as Record<string, unknown>);
      waiters.splice(0).forEach((f) => f());
    },
  };
  const exited = agentCommand(['--service', w.running.url, '--printers', printersFile], { ...env, WAYBILL_AGENT_KEY: key }, io, until);
  const logged = (event: string, n = 1) =>
    new Promise<void>((resolve) => {
      const check = () => (lines.filter((l) => l.event === event).length >= n ? resolve() : waiters.push(check));
      check();
    });
  return { lines, logged, stop: async () => (stop(), await exited) };
}

async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('waybill agent (command line)', () => {
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const lines: string[] = [];
    const code = await main(['agent', ...args], (l) => lines.push(l), { ...env, WAYBILL_DATA_DIR: os.tmpdir() });
    return { code, text: lines.join('\n') };
  };

  it('explains itself, and wants the key from --key or WAYBILL_AGENT_KEY', async () => {
    expect(await run(['--help'])).toMatchObject({ code: EXIT.ok, text: expect.stringMatching(/^usage:\n  waybill agent --service URL/) });
    expect(await run(['--service', 'http://127.0.0.1:1', '--printers', 'p.json'])).toMatchObject({ code: EXIT.usage, text: expect.stringContaining('WAYBILL_AGENT_KEY') });
    expect(await run(['--service', 'ftp://x', '--key', 'wbk_x', '--printers', 'p.json'])).toMatchObject({ code: EXIT.usage });
    // Over a network the key and the jobs' QR tokens travel only encrypted, unless the operator says otherwise.
    expect(await run(['--service', 'http://waybill.example.com', '--key', 'wbk_x', '--printers', 'p.json'])).toMatchObject({ code: EXIT.usage, text: expect.stringContaining('https://') });
    expect(await run(['--service', 'http://waybill.example.com', '--key', 'wbk_x', '--printers', 'p.json', '--allow-http'])).toMatchObject({ code: EXIT.noInput });
    expect(await run(['--service', 'http://127.0.0.1:1', '--printers', 'p.json', '--component'], { WAYBILL_AGENT_KEY: 'wbk_x' })).toMatchObject({
      code: EXIT.usage,
      text: expect.stringContaining('WAYBILL_AGENT_COMPONENT_KEY'),
    });
  });

  it('refuses a printers file naming a printer twice or a connection it cannot use, by path', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-cli-'));
    const file = path.join(dir, 'printers.json');
    const tcp = { kind: 'tcp', host: '127.0.0.1', port: 9100 };
    fs.writeFileSync(file, JSON.stringify({ printers: [{ name: 'a', language: 'zpl', connection: tcp }, { name: 'a', language: 'zpl', connection: tcp }] }));
    expect(await run(['--service', 'http://127.0.0.1:1', '--printers', file], { WAYBILL_AGENT_KEY: 'wbk_x' })).toMatchObject({ code: EXIT.badInput, text: expect.stringContaining('printers[1].name') });
    fs.writeFileSync(file, JSON.stringify({ printers: [{ name: 'a', language: 'zpl', connection: { kind: 'usb', device: '/etc/passwd' } }] }));
    expect(await run(['--service', 'http://127.0.0.1:1', '--printers', file], { WAYBILL_AGENT_KEY: 'wbk_x' })).toMatchObject({ code: EXIT.badInput, text: expect.stringContaining('device') });
    // A resident font only where the language has one, and a CPCL font whose size we know.
    fs.writeFileSync(file, JSON.stringify({ printers: [{ name: 'a', language: 'cpcl', text: 'printer-font', connection: tcp }, { name: 'b', language: 'zpl', text: 'printer-font', connection: tcp }] }));
    expect(await run(['--service', 'http://127.0.0.1:1', '--printers', file], { WAYBILL_AGENT_KEY: 'wbk_x' })).toMatchObject({ code: EXIT.badInput, text: expect.stringContaining('printers[1].text') });
    fs.writeFileSync(file, JSON.stringify({ printers: [{ name: 'a', language: 'cpcl', text: 'printer-font', font: 'TSS24.BF2', connection: tcp }] }));
    expect(await run(['--service', 'http://127.0.0.1:1', '--printers', file], { WAYBILL_AGENT_KEY: 'wbk_x' })).toMatchObject({ code: EXIT.badInput, text: expect.stringContaining('printers[0].font') });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('the agent link and failed authentication', () => {
  it('counts refused agent keys per address like any refused credential: 429 with Retry-After once over, and audited', async () => {
    const w = await startApiWorld(STORE_BACKENDS[0]![1], { WAYBILL_AUTH_FAILURE_BURST: '3', WAYBILL_AUTH_FAILURES_PER_MINUTE: '1' });
    try {
      const printerKey = (await w.services.apiKeys.add({ name: 'dock agent', role: 'printer', client: 'acme' }, new Date())).credential;
      const attempt = (key: string) =>
        new Promise<{ status: number; retryAfter?: string }>((resolve) => {
          const ws = new WebSocket(`${w.running.url.replace('http', 'ws')}/v1/agent`, { headers: { authorization: `Bearer ${key}` } });
          ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) }));
          ws.once('open', () => (ws.close(), resolve({ status: 101 })));
          ws.once('error', () => undefined);
        });
      const wrong = 'wbk_aaaaaaaaaa_' + 'A'.repeat(43);
      for (let i = 0; i < 3; i++) expect(await attempt(wrong)).toEqual({ status: 401 });
      expect(await attempt(wrong)).toEqual({ status: 429, retryAfter: expect.stringMatching(/^\d+$/) });
      // Only failures are held back: the warehouse's real agent still connects from the same address.
      expect(await attempt(printerKey)).toEqual({ status: 101 });
      const audited = (await w.t.query(`SELECT detail FROM audit_log WHERE action = ?`, 'auth_throttle')) as { detail: string }[];
      expect(audited).toHaveLength(1);
      expect(JSON.parse(audited[0]!.detail)).toMatchObject({ address: '127.0.0.1', kind: 'api_key', claimedCredential: 'wbk_aaaaaaaaaa' });
      expect(audited[0]!.detail).not.toContain('AAAA'); // never the secret
    } finally {
      await stopApiWorld(w);
    }
  });
});

describe.each(STORE_BACKENDS)('%s: the warehouse agent', (_name, backend) => {
  let w: ApiWorld;
  let printerKey: string;
  let globexPrinterKey: string;
  let tcp: FakePrinter;
  let flaky: FakePrinter;
  let handKey: string;
  let dir: string;
  let file: string;
  let lpOut: string;
  let env: Record<string, string>;
  let agent: ReturnType<typeof runAgent>;
  let seq = 0;

  const call = async (method: string, p: string, key: string, body?: unknown) => {
    const res = await fetch(`${w.running.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const newWaybill = async () => (await call('POST', '/v1/waybills', w.acme, { ...SAMPLE, orderId: `AG-${++seq}` })).body as { id: string; waybillNo: string };
  const job = async (id: string) => (await call('GET', `/v1/print-jobs/${id}`, w.acme)).body;

  beforeAll(async () => {
    w = await startApiWorld(backend);
    printerKey = (await w.services.apiKeys.add({ name: 'dock agent', role: 'printer', client: 'acme' }, new Date())).credential;
    globexPrinterKey = (await w.services.apiKeys.add({ name: 'globex agent', role: 'printer', client: 'globex' }, new Date())).credential;
    tcp = await fakePrinter();
    flaky = await fakePrinter();
    handKey = (await w.services.apiKeys.add({ name: 'second agent', role: 'printer', client: 'acme' }, new Date())).credential;
    dir = fs.mkdtempSync(path.join(w.dir, 'agent-'));
    lpOut = path.join(dir, 'lp-out');
    fs.mkdirSync(lpOut);
    const lp = path.join(dir, 'fake-lp');
    fs.writeFileSync(lp, `#!/bin/sh\necho "$@" > "${lpOut}/args"\ncat > "${lpOut}/job"\n`, { mode: 0o755 });
    env = { WAYBILL_AGENT_LP: lp };
    file = path.join(dir, 'printers.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        printers: [
          { name: 'dock-1', language: 'zpl', connection: { kind: 'tcp', host: '127.0.0.1', port: tcp.port } },
          { name: 'dock-2', language: 'tspl', dpi: 203, connection: { kind: 'cups', queue: 'dock2queue' } },
          { name: 'flaky', language: 'tspl', dpi: 300, barcodes: 'raster', connection: { kind: 'tcp', host: '127.0.0.1', port: flaky.port } },
        ],
      }),
    );
    agent = runAgent(w, printerKey, file, env);
    await agent.logged('welcome');
  });

  afterAll(async () => {
    await agent?.stop();
    await tcp?.off();
    await flaky?.off().catch(() => undefined);
    if (w) await stopApiWorld(w);
  });

  it('lists the agent printers, online, to the keys of its client only', async () => {
    const mine = (await call('GET', '/v1/printers', w.acme)).body.printers as Record<string, unknown>[];
    expect(mine).toEqual(
      expect.arrayContaining([
        { name: 'dock-1', language: 'zpl', dpi: 203, via: 'agent', online: true },
        { name: 'dock-2', language: 'tspl', dpi: 203, via: 'agent', online: true },
        { name: 'flaky', language: 'tspl', dpi: 300, via: 'agent', online: true },
      ]),
    );
    const theirs = (await call('GET', '/v1/printers', globexPrinterKey)).body.printers as { name: string }[];
    expect(theirs.map((p) => p.name)).not.toEqual(expect.arrayContaining(['dock-1']));
    expect(theirs).toEqual([]);
  });

  it('keeps the connections at the warehouse: the service stores none, and refuses a hello that carries one', async () => {
    const stored = JSON.stringify(await w.services.printers.listPrinters());
    for (const detail of ['127.0.0.1', 'dock2queue', String(tcp.port), String(flaky.port)]) expect(stored).not.toContain(detail);
    expect(JSON.stringify(helloOf(readPrintersFile(file)))).not.toMatch(/127\.0\.0\.1|dock2queue|connection/);

    // An agent that sends its connection anyway: refused, closed, nothing registered.
    const ws = new WebSocket(`${w.running.url.replace('http', 'ws')}/v1/agent`, { headers: { authorization: `Bearer ${globexPrinterKey}` } });
    await new Promise((r) => ws.once('open', r));
    const answer = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send(JSON.stringify({ type: 'hello', printers: [{ name: 'leaky', language: 'zpl', dpi: 203, barcodes: 'native', text: 'raster', connection: { kind: 'tcp', host: '10.0.0.9', port: 9100 } }] }));
    expect(JSON.parse(await answer)).toMatchObject({ type: 'error' });
    expect(await closed).toBe(1008);
    expect(await w.services.printers.getPrinter('leaky')).toBeUndefined();
  });

  it('admits only printer-role keys to the agent link', async () => {
    const status = (key?: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${w.running.url.replace('http', 'ws')}/v1/agent`, key ? { headers: { authorization: `Bearer ${key}` } } : {});
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => (ws.close(), resolve(101)));
        ws.once('error', () => undefined);
      });
    expect(await status()).toBe(401);
    expect(await status('wbk_aaaaaaaaaa_' + 'A'.repeat(43))).toBe(401);
    expect(await status(w.acme)).toBe(403);
    expect(await status(w.admin)).toBe(403);
    // A refusal is a problem like any other answer, with its request id in the body and the header.
    const refused = await new Promise<{ headers: Record<string, unknown>; body: string }>((resolve) => {
      const ws = new WebSocket(`${w.running.url.replace('http', 'ws')}/v1/agent`, { headers: { authorization: `Bearer ${w.acme}` } });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8'))).on('end', () => resolve({ headers: res.headers, body }));
      });
      ws.once('error', () => undefined);
    });
    expect(refused.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(refused.body)).toEqual({ type: 'https://waybill.example/problems/forbidden', title: 'Forbidden', status: 403, detail: 'an agent needs a printer-role API key of a client', requestId: refused.headers['x-request-id'] });
  });

  it("does not let another client's agent take a printer name", async () => {
    const ws = new WebSocket(`${w.running.url.replace('http', 'ws')}/v1/agent`, { headers: { authorization: `Bearer ${globexPrinterKey}` } });
    await new Promise((r) => ws.once('open', r));
    const answer = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
    ws.send(JSON.stringify({ type: 'hello', printers: [{ name: 'dock-1', language: 'zpl', dpi: 203, barcodes: 'native', text: 'raster' }] }));
    expect(JSON.parse(await answer)).toEqual({ type: 'welcome', printers: [{ name: 'dock-1', registered: false, reason: 'the name is taken by another printer' }] });
    ws.close();
    expect(await w.services.printers.getPrinter('dock-1')).toMatchObject({ client: 'acme' });
  });

  it('prints to a raw-TCP printer behind the agent: the bytes arrive, the job is delivered', async () => {
    const wb = await newWaybill();
    const before = tcp.jobs.length;
    const res = await call('POST', `/v1/waybills/${wb.id}/print`, w.acme, { printer: 'dock-1' });
    expect(res).toMatchObject({ status: 200, body: { printer: 'dock-1', status: 'delivered', waybillNo: wb.waybillNo } });
    const [bytes] = (await tcp.received(before + 1)).slice(before);
    expect(bytes!.subarray(0, 3).toString()).toBe('^XA');
    expect(await job(res.body.job)).toMatchObject({ status: 'delivered', bytes: bytes!.length });
  });

  it('prints to a CUPS queue through lp -o raw', async () => {
    const wb = await newWaybill();
    const res = await call('POST', `/v1/waybills/${wb.id}/print`, w.acme, { printer: 'dock-2' });
    expect(res).toMatchObject({ status: 200, body: { status: 'delivered' } });
    expect(fs.readFileSync(path.join(lpOut, 'args'), 'utf8').trim()).toBe('-d dock2queue -o raw');
    expect(fs.readFileSync(path.join(lpOut, 'job')).length).toBe((await job(res.body.job)).bytes);
  });

  it('keeps a job while the agent is away and sends it when the agent is back', async () => {
    await agent.stop();
    await eventually(async () => ((await call('GET', '/v1/printers', w.acme)).body.printers as { name: string; online?: boolean }[]).find((p) => p.name === 'dock-1' && p.online === false));
    const wb = await newWaybill();
    const before = tcp.jobs.length;
    const res = await call('POST', `/v1/waybills/${wb.id}/print`, w.acme, { printer: 'dock-1' });
    expect(res).toMatchObject({ status: 202, body: { status: 'pending', links: { self: `/v1/print-jobs/${res.body.job}` } } });
    expect(await job(res.body.job)).toMatchObject({ status: 'pending' });

    agent = runAgent(w, printerKey, file, env);
    await tcp.received(before + 1);
    expect(await eventually(async () => ((await job(res.body.job)).status === 'delivered' ? true : undefined))).toBe(true);
  });

  it('keeps a job the printer did not take as failed, and a retry through the agent delivers it', async () => {
    await flaky.off();
    const wb = await newWaybill();
    const res = await call('POST', `/v1/waybills/${wb.id}/print`, w.acme, { printer: 'flaky' });
    expect(res).toMatchObject({ status: 502, body: { printer: 'flaky', jobStatus: 'failed', links: { retry: `/v1/print-jobs/${res.body.job}/retry` } } });
    expect(res.body.detail).toContain('printer "flaky" (via agent): refused the connection');
    expect(await job(res.body.job)).toMatchObject({ status: 'failed', links: { retry: expect.any(String) } });

    await flaky.on();
    const retried = await call('POST', `/v1/print-jobs/${res.body.job}/retry`, w.acme);
    expect(retried).toMatchObject({ status: 200, body: { status: 'delivered' } });
    expect((await flaky.received(1))[0]!.length).toBe((await job(res.body.job)).bytes);
  });

  it('fails a job whose agent link dropped mid-job (part may be printed), keeps it, and a retry sends it again', async () => {
    const hand = await handAgent(w.running.url, handKey, 'dock-9');
    const wb = await newWaybill();
    const printing = call('POST', `/v1/waybills/${wb.id}/print`, w.acme, { printer: 'dock-9' });
    const sent = await hand.next('job');
    hand.ws.terminate(); // gone before it acknowledged
    const res = await printing;
    expect(res).toMatchObject({ status: 502, body: { job: sent.jobId, jobStatus: 'failed' } });
    expect(res.body.detail).toContain('part of it may be printed');
    expect(await job(sent.jobId)).toMatchObject({ status: 'failed' });

    const back = await handAgent(w.running.url, handKey, 'dock-9');
    const retrying = call('POST', `/v1/print-jobs/${sent.jobId}/retry`, w.acme);
    const again = await back.next('job');
    expect(again).toEqual(sent); // the same job, the same bytes
    back.ws.send(JSON.stringify({ type: 'ack', jobId: again.jobId, status: 'delivered' }));
    expect(await retrying).toMatchObject({ status: 200, body: { job: sent.jobId, status: 'delivered' } });
    back.ws.close();
  });

  it("ends the jobs kept for a printer its agent stops announcing: another client's agent taking the name is handed none", async () => {
    const offline = async (name: string) =>
      eventually(async () => ((await call('GET', '/v1/printers', w.acme)).body.printers as { name: string; online?: boolean }[]).find((p) => p.name === name && p.online === false));
    const first = await handAgent(w.running.url, handKey, 'spare-1');
    first.ws.close();
    await offline('spare-1');
    const wb = await newWaybill();
    const kept = await call('POST', `/v1/waybills/${wb.id}/print`, w.acme, { printer: 'spare-1' });
    expect(kept).toMatchObject({ status: 202, body: { status: 'pending' } });

    // The agent comes back with the printer renamed: the old name is gone, and its kept job with it.
    const renamed = await handAgent(w.running.url, handKey, 'spare-1-new');
    expect(await job(kept.body.job)).toMatchObject({ status: 'cancelled', lastError: PRINTER_GONE });
    const audited = (await w.services.audit.forJob!(kept.body.job)).filter((r) => r.outcome === 'cancelled');
    expect(audited).toEqual([expect.objectContaining({ action: 'deliver', actor: expect.stringMatching(/^printer:/), detail: { job: kept.body.job, reason: PRINTER_GONE } })]);
    const globex = await handAgent(w.running.url, globexPrinterKey, 'spare-1');
    expect(await w.services.printers.getPrinter('spare-1')).toMatchObject({ client: 'globex' });
    expect(await w.services.printers.pendingDeliveries(['spare-1'], 'globex', 20)).toEqual([]);

    // Had the row gone another way (a race, a database hand), the queue still hands a job to its own client's agents only.
    const wb2 = await newWaybill();
    renamed.ws.close();
    await offline('spare-1-new');
    const queued = await call('POST', `/v1/waybills/${wb2.id}/print`, w.acme, { printer: 'spare-1-new' });
    expect(queued.status).toBe(202);
    await w.t.exec("DELETE FROM printers WHERE name = 'spare-1-new'");
    expect(await w.services.printers.pendingDeliveries(['spare-1-new'], 'globex', 20)).toEqual([]);
    expect((await w.services.printers.pendingDeliveries(['spare-1-new'], 'acme', 20)).map((d) => d.jobId)).toEqual([queued.body.job]);
    globex.ws.close();
  });

  it('answers a print 202 sending when the agent has the job but has not acknowledged it within the wait', async () => {
    const hand = await handAgent(w.running.url, handKey, 'slow-1');
    const wb = await newWaybill();
    // The agent never acknowledges: the request is answered once the wait is over, not at the job's deadline.
    const res = await call('POST', `/v1/waybills/${wb.id}/print`, w.acme, { printer: 'slow-1' });
    expect(res).toMatchObject({ status: 202, body: { status: 'sending' } });
    const sent = await hand.next('job');
    hand.ws.send(JSON.stringify({ type: 'ack', jobId: sent.jobId, status: 'delivered' }));
    await eventually(async () => ((await job(sent.jobId)).status === 'delivered' ? true : undefined));
    hand.ws.close();
  }, 60_000);

  it("ends a job being sent when its printer goes: a retry never hands it to another client's agent that takes the name", async () => {
    const hand = await handAgent(w.running.url, handKey, 'spare-2');
    const wb = await newWaybill();
    const printing = call('POST', `/v1/waybills/${wb.id}/print`, w.acme, { printer: 'spare-2' });
    const sent = await hand.next('job'); // taken, never acknowledged: sending
    // The same agent now announces only another printer: spare-2 is gone, and the job with it.
    hand.ws.send(JSON.stringify({ type: 'hello', printers: [{ name: 'spare-2-new', language: 'zpl', dpi: 203, barcodes: 'native', text: 'raster' }] }));
    await hand.next('welcome');
    expect(await job(sent.jobId)).toMatchObject({ status: 'cancelled', lastError: PRINTER_GONE });
    const globex = await handAgent(w.running.url, globexPrinterKey, 'spare-2');
    hand.ws.close();
    await printing;
    const retried = await call('POST', `/v1/print-jobs/${sent.jobId}/retry`, w.acme);
    expect(retried.status).toBe(409);
    // Had the row gone another way (a database hand put it back to failed), the retry checks the printer's client.
    await w.t.exec(`UPDATE print_deliveries SET status = 'failed' WHERE job_id = '${sent.jobId}'`);
    expect((await call('POST', `/v1/print-jobs/${sent.jobId}/retry`, w.acme)).status).toBe(409);
    expect(await job(sent.jobId)).toMatchObject({ status: 'cancelled', lastError: 'printer "spare-2" now belongs to another client' });
    expect(await Promise.race([globex.next('job').then(() => 'handed a job'), new Promise((r) => setTimeout(() => r('none'), 300))])).toBe('none');
    globex.ws.close();
  });

  it('keeps the print number and copy codes of a job the agent took and said failed: the next paper is a reprint with codes of its own', async () => {
    const hand = await handAgent(w.running.url, handKey, 'dock-8');
    const codesOf = async (job: string) => (await w.t.query('SELECT copy_code FROM copy_prints WHERE job_id = ? ORDER BY copy_code', job)).map((r) => r.copy_code);
    const label = async (id: string) => {
      const res = await fetch(`${w.running.url}/v1/waybills/${id}/label?copies=courier`, { headers: { authorization: `Bearer ${w.acme}` } });
      await res.arrayBuffer();
      return Number(res.headers.get('x-print-number'));
    };

    // The agent had the bytes and says failed without saying no byte reached the printer: maybe on paper.
    const taken = await newWaybill();
    const printing = call('POST', `/v1/waybills/${taken.id}/print`, w.acme, { printer: 'dock-8' });
    const sent = await hand.next('job');
    hand.ws.send(JSON.stringify({ type: 'ack', jobId: sent.jobId, status: 'failed', error: 'paper jam' }));
    expect((await printing).body).toMatchObject({ jobStatus: 'failed' });
    const kept = await codesOf(sent.jobId);
    expect(await label(taken.id)).toBe(2);
    expect(await codesOf(sent.jobId)).toEqual(kept); // still the agent's job's: a photo of that paper traces there
    const record = (await w.services.audit.forJob!(sent.jobId)).find((r) => r.action === 'deliver' && r.outcome === 'failed');
    expect(record?.detail).toMatchObject({ via: 'agent', agent: expect.any(String) });

    // No byte reached the printer, as the agent says: the number is free for the first real paper.
    const untouched = await newWaybill();
    const again = call('POST', `/v1/waybills/${untouched.id}/print`, w.acme, { printer: 'dock-8' });
    const second = await hand.next('job');
    hand.ws.send(JSON.stringify({ type: 'ack', jobId: second.jobId, status: 'failed', error: 'printer off', nothingSent: true }));
    await again;
    expect(await label(untouched.id)).toBe(1);
    hand.ws.close();
  });

  it("gives the print component the agent's printers, creates and previews on the service with a warehouse key", async () => {
    const host = agentHost({ service: w.running.url, componentKey: w.acme, printers: readPrintersFile(file), ports: { lp: env.WAYBILL_AGENT_LP! } });
    expect(host.printers().map((p) => p.name)).toEqual(['dock-1', 'dock-2', 'flaky']);
    const [order] = validateOrders([{ value: { ...SAMPLE, orderId: `AG-${++seq}` } }]);
    const made = await host.create(order!, { format: 'zpl', dpi: 203 });
    expect(made.waybillNo).toMatch(/^[A-Z0-9]{6,30}$/);
    expect(made.bytes.subarray(0, 3).toString()).toBe('^XA');
    const before = tcp.jobs.length;
    await host.send('dock-1', made.bytes);
    expect((await tcp.received(before + 1))[before]).toEqual(made.bytes);
    // The same order again (a reprint past the component's window): its label again, counted as the
    // second paper of the same waybill (重印 第1次), never a second waybill.
    const again = await host.create({ ...order!, waybillNo: made.waybillNo }, { format: 'zpl', dpi: 203 });
    expect(again.waybillNo).toBe(made.waybillNo);
    const prints = await (await fetch(`${w.running.url}/v1/waybills/${made.waybillNo}/events`, { headers: { authorization: `Bearer ${w.acme}` } })).json();
    expect(JSON.stringify(prints)).toMatch(/"printNo":2/);
    expect((await host.preview(order!, { format: 'zpl' })).subarray(0, 5).toString()).toBe('%PDF-');
    // The printer key cannot create waybills: the component needs the warehouse key.
    const refused = agentHost({ service: w.running.url, componentKey: printerKey, printers: [] });
    await expect(refused.create({ ...order!, orderId: `AG-${++seq}` }, { format: 'zpl' })).rejects.toThrow(/the service refused \(403/);
  });

  it('redials by itself (backoff with jitter) when its link is lost, and announces its printers again', async () => {
    const welcomes = agent.lines.filter((l) => l.event === 'welcome').length;
    const drops = agent.lines.filter((l) => l.event === 'disconnected').length;
    // A second link with the same key replaces the agent's (4000), as a stale link would be.
    const intruder = await handAgent(w.running.url, printerKey, 'dock-1');
    await agent.logged('disconnected', drops + 1);
    await agent.logged('welcome', welcomes + 1);
    intruder.ws.close();
    const names = await eventually(async () => {
      const list = (await call('GET', '/v1/printers', w.acme)).body.printers as { name: string; online?: boolean }[];
      const online = list.filter((p) => ['dock-1', 'dock-2', 'flaky'].includes(p.name) && p.online).map((p) => p.name);
      return online.length === 3 ? online : undefined;
    });
    expect(names.sort()).toEqual(['dock-1', 'dock-2', 'flaky']);
  });

  it('logs no personal data and no job content', () => {
    const logged = JSON.stringify(agent.lines);
    for (const personal of ['司马', '021-6888', '浦东', '^XA']) expect(logged).not.toContain(personal);
  });
});
