// The printer network policy end to end, on both databases: `waybill printers add` refuses loopback,
// link-local, unspecified, multicast and unlisted addresses (a host name by what it resolves to) and the
// service's own port, with exit 65 and a message naming the field, never the value; the running service
// checks again before every send, so a printer pointed by an insider at its own port or at another
// loopback service is never connected to; API answers, job reasons and logs name the printer, never its
// address. Only loopback listeners; 127.0.0.1 is listed explicitly where the fake printer must work.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { EXIT, main } from '../../src/cli';
import { loadConfig } from '../../src/config/config';
import { openServices, printerNetworkPolicy, type Services } from '../../src/wiring';
import { checkHost } from '../../src/printers/networkPolicy';
import { fakePrinter, type FakePrinter } from '../support/fakePrinter';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(120_000);


const POLICY_REASON = 'its address is not allowed by the printer network policy (WAYBILL_PRINTER_NETWORKS); nothing was sent';

describe.each(STORE_BACKENDS)('%s: printer network policy', (_name, backend) => {
  let db: TestDatabase;
  let dir: string;
  /** The environment without WAYBILL_PRINTER_NETWORKS: the default private ranges. */
  let defaults: Record<string, string>;
  /** The service's: 127.0.0.1 listed explicitly, for the fake printer. */
  let env: Record<string, string>;
  let services: Services;
  let running: RunningService;
  let servicePort: number;
  let line: FakePrinter;
  let secret: net.Server;
  let secretPort: number;
  let secretConnections = 0;
  let key: string;
  const logs: string[] = [];
  let seq = 0;

  beforeAll(async () => {
    db = await backend.open();
    dir = db.location.backend === 'sqlite' ? path.dirname(db.location.file) : fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-printer-policy-'));
    defaults = {
      WAYBILL_DATA_DIR: dir,
      ...(db.location.backend === 'postgres' ? { DATABASE_URL: db.location.url } : {}),
      WAYBILL_PRINTER_ATTEMPTS: '1',
      WAYBILL_LOG_LEVEL: 'info',
    };
    env = { ...defaults, WAYBILL_PRINTER_NETWORKS: '127.0.0.1/32' };
    services = await openServices(loadConfig(env), () => {});
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => logs.push(c.toString('utf8')));
    running = await serveCommand(['--port', '0'], services, (l) => logs.push(l), stream);
    servicePort = Number(new URL(running.url).port);
    const lines: string[] = [];
    expect(await apiKeyCommand(['create', '--role', 'warehouse', '--name', 'acme wms', '--client', 'acme'], services, (l) => lines.push(l))).toBe(0);
    key = /^(wb[ckt]_\S+)$/m.exec(lines.join('\n'))![1]!;
    line = await fakePrinter();
    // Another service on this machine (a database, say), on a loopback address that is not listed.
    secret = net.createServer((socket) => {
      secretConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => secret.listen(0, '127.0.0.2', resolve));
    secretPort = (secret.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await line.off().catch(() => undefined);
    secret.close();
    await running.shutdown();
    await services.close();
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cli = async (e: Record<string, string>, ...argv: string[]) => {
    const out: string[] = [];
    return { code: await main(argv, (l) => out.push(l), e), out: out.join('\n') };
  };
  const call = (method: string, route: string, body?: unknown) =>
    fetch(`${running.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  async function created(): Promise<{ id: string }> {
    const res = await call('POST', '/v1/waybills', { ...ZT, orderId: `PP-${++seq}` });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string };
  }
  /** What an API client may read must not name an address or port of the printer (or of this service). */
  const expectNoAddress = (text: string, ...ports: number[]) => {
    expect(text).not.toMatch(/127\.0\.0\.[0-9]|::1|0\.0\.0\.0/);
    for (const port of ports) expect(text).not.toMatch(new RegExp(`\\b${port}\\b`));
  };

  it('refuses loopback by default with exit 65 and a message naming the field, never the value; listed, it is allowed', async () => {
    const refused = await cli(defaults, 'printers', 'add', 'dock-lo', '--host', '127.0.0.1', '--port', String(line.port), '--language', 'zpl');
    expect(refused.code).toBe(EXIT.badInput);
    expect(refused.out).toContain('host: is a loopback address, refused unless listed in WAYBILL_PRINTER_NETWORKS');
    expect(refused.out).not.toMatch(new RegExp(`127\\.0\\.0\\.1|\\b${line.port}\\b`));
    const name = await cli(defaults, 'printers', 'add', 'dock-lo', '--host', 'localhost', '--language', 'zpl');
    expect(name).toMatchObject({ code: EXIT.badInput, out: expect.stringContaining('host: resolves to a loopback address, refused unless listed in WAYBILL_PRINTER_NETWORKS') });
    expect(await services.printers.getPrinter('dock-lo')).toBeUndefined();

    expect(await cli(env, 'printers', 'add', 'dock-lo', '--host', '127.0.0.1', '--port', String(line.port), '--language', 'zpl', '--client', 'acme')).toMatchObject({ code: EXIT.ok });
    expect(await services.printers.getPrinter('dock-lo')).toMatchObject({ host: '127.0.0.1', port: line.port });
  });

  it('refuses unspecified, link-local, multicast, IPv4-mapped loopback and unlisted hosts; allows the private ranges', async () => {
    const cases: [string, string][] = [
      ['0.0.0.0', 'host: is an unspecified address'],
      ['::', 'host: is an unspecified address'],
      ['169.254.169.254', 'host: is a link-local address'],
      ['fe80::1', 'host: is a link-local address'],
      ['224.0.0.1', 'host: is a multicast address'],
      ['::ffff:127.0.0.1', 'host: is a loopback address'],
      ['[::1]', 'host: is a loopback address'],
      ['127.1', 'host: resolves to a loopback address'],
      ['8.8.8.8', 'host: is an address not in WAYBILL_PRINTER_NETWORKS (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7)'],
    ];
    for (const [host, message] of cases) {
      const r = await cli(defaults, 'printers', 'add', 'dock-x', '--host', host, '--language', 'zpl');
      expect([host, r.code, r.out]).toEqual([host, EXIT.badInput, expect.stringContaining(message)]);
    }
    expect(await services.printers.getPrinter('dock-x')).toBeUndefined();
    // The default policy admits the private ranges (checked, not registered: tests register printers on loopback only).
    const policy = printerNetworkPolicy(loadConfig(defaults));
    for (const host of ['10.20.0.17', 'fd00::17']) expect(await checkHost(host, 9100, policy)).toEqual({ address: host });
  });

  it("refuses the service's own port on this machine even when listed: at registration, and at send time for a printer put there behind the CLI's back", async () => {
    const own = await cli({ ...env, WAYBILL_PORT: String(servicePort) }, 'printers', 'add', 'self', '--host', '127.0.0.1', '--port', String(servicePort), '--language', 'zpl');
    expect(own.code).toBe(EXIT.badInput);
    expect(own.out).toContain("port: is this service's own listening port and the host is this machine; refused even when listed");

    // The CLI above knew the port from WAYBILL_PORT; the service knows the port it listens on (here one
    // the system picked) and refuses to send there whatever the store says.
    await services.printers.addPrinter({ name: 'self', host: '127.0.0.1', port: servicePort, language: 'zpl', dpi: 203, zplCompression: 'z64', client: 'acme', createdAt: new Date().toISOString() });
    const w = await created();
    const res = await call('POST', `/v1/waybills/${w.id}/print`, { printer: 'self', copies: ['courier'] });
    const text = await res.text();
    expect(res.status).toBe(502);
    const problem = JSON.parse(text) as { job: string; detail: string };
    expect(problem).toMatchObject({ printer: 'self', jobStatus: 'failed', attempts: 0, detail: `printer "self": ${POLICY_REASON}; the job is kept, retry it with POST /v1/print-jobs/${problem.job}/retry` });
    expectNoAddress(text, servicePort);
    expect((await services.audit.forJob!(problem.job)).map((r) => [r.action, r.outcome, r.detail?.refused])).toEqual([['print', 'ok', undefined], ['deliver', 'failed', 'own-port']]);
  });

  it('checks every send: a printer an insider re-points in the database at another loopback service is never connected to, and nothing an API client reads names an address', async () => {
    expect(await cli(env, 'printers', 'add', 'acme-zpl', '--host', '127.0.0.1', '--port', String(line.port), '--language', 'zpl', '--client', 'acme')).toMatchObject({ code: EXIT.ok });
    const ok = await call('POST', `/v1/waybills/${(await created()).id}/print`, { printer: 'acme-zpl', copies: ['courier'] });
    expect(ok.status).toBe(200);
    await line.received(1);

    await db.exec(`UPDATE printers SET host = '127.0.0.2', port = ${secretPort} WHERE name = 'acme-zpl'`);
    const res = await call('POST', `/v1/waybills/${(await created()).id}/print`, { printer: 'acme-zpl', copies: ['courier'] });
    const text = await res.text();
    expect(res.status).toBe(502);
    const problem = JSON.parse(text) as { job: string };
    expect(problem).toMatchObject({ printer: 'acme-zpl', attempts: 0, detail: expect.stringContaining(`printer "acme-zpl": ${POLICY_REASON}`) });
    expectNoAddress(text, secretPort, line.port);
    const job = await (await call('GET', `/v1/print-jobs/${problem.job}`)).text();
    expect(JSON.parse(job)).toMatchObject({ status: 'failed', attempts: 0, lastError: `printer "acme-zpl": ${POLICY_REASON}` });
    expectNoAddress(job, secretPort, line.port);
    // The retry is refused alike while the address stays refused.
    const retried = await call('POST', `/v1/print-jobs/${problem.job}/retry`);
    expect(retried.status).toBe(502);
    expectNoAddress(await retried.text(), secretPort, line.port);
    expect(secretConnections).toBe(0);

    // An ordinary failure (printer off) names no address either.
    await db.exec(`UPDATE printers SET host = '127.0.0.1', port = ${line.port} WHERE name = 'acme-zpl'`);
    await line.off();
    const off = await call('POST', `/v1/waybills/${(await created()).id}/print`, { printer: 'acme-zpl', copies: ['courier'] });
    const offText = await off.text();
    expect(off.status).toBe(502);
    expect(JSON.parse(offText)).toMatchObject({ detail: expect.stringMatching(/^printer "acme-zpl": refused the connection \(printer off or port closed\); the job is kept/) });
    expectNoAddress(offText, line.port);
    await line.on();
    // Once the host is right again, the kept job goes out.
    expect((await call('POST', `/v1/print-jobs/${problem.job}/retry`)).status).toBe(200);
    await line.received(2);

    const logText = logs.join('\n');
    expect(logText).not.toMatch(/127\.0\.0\.2/);
    for (const port of [secretPort, line.port]) expect(logText).not.toMatch(new RegExp(`\\b${port}\\b`));
  });
});
