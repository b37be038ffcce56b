import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { serveCommand } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices } from '../../src/wiring';

describe('waybill serve', () => {
  it('listens where it says, answers health, readiness and problem+json, logs JSON, and drains on shutdown', async () => {
    const config = loadConfig({ WAYBILL_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-serve-')) });
    const services = await openServices(config, () => {});
    const lines: string[] = [];
    const logs = new PassThrough();
    const logged: string[] = [];
    logs.on('data', (c: Buffer) => logged.push(...c.toString('utf8').split('\n').filter(Boolean)));
    const running = await serveCommand(['--port', '0'], services, (l) => lines.push(l), logs);
    const { url } = running;
    try {
      expect(lines[0]).toMatch(new RegExp(`^waybill service listening on ${url.replace(/\./g, '\\.')}`));
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
      expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready' });
      const missing = await fetch(`${url}/v1/nothing`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/waybill_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/);
      // Even a request Node's parser refuses before express sees it gets a problem.
      const raw = await new Promise<string>((resolve) => {
        const socket = net.connect(Number(new URL(url).port), '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nBad\u0001Header: y\r\n\r\n'));
        let text = '';
        socket.on('data', (c) => (text += c.toString('utf8'))).on('close', () => resolve(text));
      });
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
      expect(raw).toMatch(/Content-Type: application\/problem\+json/);
      // Headers beyond what the server reads: 431, as a problem of its own type.
      const huge = await new Promise<string>((resolve) => {
        const socket = net.connect(Number(new URL(url).port), '127.0.0.1', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
        let text = '';
        socket.on('data', (c) => (text += c.toString('utf8'))).on('close', () => resolve(text));
      });
      expect(huge).toMatch(/^HTTP\/1\.1 431 /);
      expect(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4))).toEqual({ type: 'https://waybill.example/problems/headers_too_large', title: 'headers too large', status: 431, detail: 'the request headers are too large' });
      // And one whose target is no URL, which the parser lets through and express's router would answer in HTML.
      const noUrl = await new Promise<string>((resolve) => {
        const socket = net.connect(Number(new URL(url).port), '127.0.0.1', () => socket.write('GET http://[/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
        let text = '';
        socket.on('data', (c) => (text += c.toString('utf8'))).on('close', () => resolve(text));
      });
      expect(noUrl).toMatch(/^HTTP\/1\.1 400 /);
      expect(noUrl).toMatch(/content-type: application\/problem\+json/i);
      expect(noUrl).toMatch(/"detail":"the request is malformed"/);
      const entries = logged.map((l) => JSON.parse(l));
      expect(entries.some((e) => e.route === '/healthz' && e.status === 200 && e.requestId)).toBe(true);
    } finally {
      await running.shutdown();
      await services.close();
    }
    expect(running.server.listening).toBe(false);
  });

  it('closes an upgrade request whose target is no URL or whose client resets it, and keeps answering', async () => {
    const config = loadConfig({ WAYBILL_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-serve-')) });
    const services = await openServices(config, () => {});
    const running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
    try {
      for (const target of ['//[', 'http://[::1', '/v1/agent?x']) {
        const closed = await new Promise<string>((resolve) => {
          const socket = net.connect(Number(new URL(running.url).port), '127.0.0.1', () =>
            socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`),
          );
          let text = '';
          socket.setTimeout(5000, () => socket.destroy());
          socket.on('data', (c) => (text += c.toString('utf8'))).on('close', () => resolve(text));
        });
        // Not a 101: the path is not the agent's, or the agent's without a credential.
        expect(closed).not.toMatch(/^HTTP\/1\.1 101/);
        expect(await (await fetch(`${running.url}/healthz`)).json()).toEqual({ status: 'ok' });
      }
      // A client that asks for the agent link and resets its connection while its key is checked.
      for (let i = 0; i < 5; i++) {
        await new Promise<void>((resolve) => {
          const socket = net.connect(Number(new URL(running.url).port), '127.0.0.1', () => {
            socket.write('GET /v1/agent HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', () => {
              socket.resetAndDestroy();
              resolve();
            });
          });
        });
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(await (await fetch(`${running.url}/healthz`)).json()).toEqual({ status: 'ok' });
    } finally {
      await running.shutdown();
      await services.close();
    }
  });
});
