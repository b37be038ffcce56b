// The service's HTTP server makes requests and responses of the app's own prototypes, so express's
// per-request prototype switch (costly to the collector, see src/http/server.ts) changes nothing, and
// everything express adds to them still works.

import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import v8 from 'node:v8';
import express from 'express';
import { createServer, takeUpgrades } from '../../src/http/server';

test('requests reach the app already of its prototypes, and express works on them as usual', async () => {
  const app = express();
  app.get('/echo/:word', (req, res) => {
    res.set('X-Word', req.params.word).json({ word: req.params.word, query: req.query.q, accept: req.get('accept') });
  });
  const server = createServer(app);
  const born: boolean[] = [];
  // Runs before express sees the request.
  server.prependListener('request', (req, res) => {
    born.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    for (const word of ['one', 'two', 'three']) {
      const res = await fetch(`http://127.0.0.1:${port}/echo/${word}?q=x`, { headers: { accept: 'application/json' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-word')).toBe(word);
      expect(await res.json()).toEqual({ word, query: 'x', accept: 'application/json' });
    }
    const missing = await fetch(`http://127.0.0.1:${port}/nowhere`);
    expect(missing.status).toBe(404);
    expect(born).toEqual([true, true, true, true]);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test("its requests and responses are still Node's own", async () => {
  const app = express();
  app.get('/', (req, res) => {
    res.json({ incoming: req instanceof http.IncomingMessage, response: res instanceof http.ServerResponse });
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    expect(await res.json()).toEqual({ incoming: true, response: true });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('every request and every response shares one hidden class, so none is sent to the old generation for it', async () => {
  // V8's own check, compiled after natives syntax is allowed.
  v8.setFlagsFromString('--allow-natives-syntax');
  const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
  v8.setFlagsFromString('--no-allow-natives-syntax');
  // V8 settles a class's object size only after its first few instances (slack tracking), and may
  // generalise a field's representation once more later, each of which changes the hidden class once: so
  // an app passes when three requests in a row share one class, as a running service soon has. Now and
  // then (about one run in ten here) V8 gave every response of an app a class of its own from the first,
  // so a fresh app is tried, up to three. With per-request prototype switches (node's own
  // http.createServer) no app ever gets there.
  const settles = async (): Promise<boolean> => {
    const app = express();
    const seen: [http.IncomingMessage, http.ServerResponse][] = [];
    app.get('/', (req, res) => {
      seen.push([req, res]);
      res.json({});
    });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      for (let i = 0; i < 64; i++) {
        expect((await fetch(url)).status).toBe(200);
        const last = seen.slice(-3);
        if (last.length === 3 && last.every(([req, res]) => haveSameMap(req, last[0]![0]) && haveSameMap(res, last[0]![1]))) return true;
      }
      return false;
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  };
  expect((await settles()) || (await settles()) || (await settles())).toBe(true);
});

describe('requests that offer an upgrade the server does not take', () => {
  /** A raw request on its own connection; resolves with what came back once the server closes it or `until` matches. */
  const rawRequest = (port: number, text: string, until = /\r\n\r\n[\s\S]*\}$/) =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (until.test(got)) socket.destroy();
      });
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });

  test('are answered as the plain requests they also are (curl --http2, a WebSocket to another path), body and keep-alive included; a CONNECT gets 405', async () => {
    const app = express();
    app.use(express.json());
    app.get('/healthz', (req, res) => void res.json({ upgrade: req.get('upgrade') ?? null, connection: req.get('connection') ?? null }));
    app.post('/echo', (req, res) => void res.json(req.body));
    const server = createServer(app);
    const taken: string[] = [];
    takeUpgrades(server, (req, socket) => {
      if (req.url !== '/agent') return false;
      taken.push(req.url);
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      return true;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const h2c = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n';
      const health = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: x\r\n${h2c}\r\n`);
      expect(health).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(health).toMatch(/\r\nConnection: keep-alive\r\n[\s\S]*\{"upgrade":null,"connection":null\}$/); // the offer is gone; the connection stays open
      const body = JSON.stringify({ marker: '测试某某' });
      const posted = await rawRequest(port, `POST /echo HTTP/1.1\r\nHost: x\r\n${h2c}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      expect(Buffer.from(posted, 'latin1').toString('utf8')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"marker":"测试某某"\}$/);
      const ws = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      expect(ws).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*"connection":null\}$/);
      // Two requests on one connection, the first offering h2c: both answered.
      const twice = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: x\r\n${h2c}\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`, /\}[\s\S]*\}$/);
      expect(twice.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
      // The path the server takes upgrades on still takes them.
      expect(await rawRequest(port, 'GET /agent HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', /\r\n\r\n$/)).toMatch(/^HTTP\/1\.1 101 /);
      expect(taken).toEqual(['/agent']);
      const connect = await rawRequest(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      expect(connect).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\nContent-Type: application\/problem\+json\r\n[\s\S]*"status":405/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
