// The service's HTTP server makes requests and responses of the app's own prototypes, so express's
// per-request prototype switch (costly to the collector, see src/http/server.ts) changes nothing, and
// everything express adds to them still works.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import express from 'express';
import { createServer } from '../../src/http/server';

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
