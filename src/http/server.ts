// The HTTP server for the app. Express gives every request and response its app's prototypes with
// Object.setPrototypeOf; done to Node's freshly made objects, that costs V8 hidden-class work per request
// and sends each request's objects to the old generation. Here the server makes requests and responses of
// the app's prototypes from the start, so express's call finds the prototype already set and changes
// nothing. They are built by calling Node's constructors on an object made with `new`: building them with
// Reflect.construct and another new.target would give every object a hidden class (V8 map) of its own,
// which is worse still: every request's objects then reach the old generation (measured on `serve
// --workers 1`, /healthz over 10 connections: 28k → 153k requests in 8 s).

import http from 'node:http';
import type { Duplex } from 'node:stream';
import type express from 'express';
import { malformedRequestProblem, problemHead } from './problem';

export function createServer(app: express.Express): http.Server {
  return http.createServer({ IncomingMessage: ofPrototype(http.IncomingMessage, app.request), ServerResponse: ofPrototype(http.ServerResponse, app.response) }, (req, res) => {
    // A target that is no URL ("http://[/x") passes Node's parser, but express's router gives up on it
    // and answers with its own HTML page: it gets our problem instead.
    if (URL.canParse(req.url ?? '/', 'http://localhost')) return app(req, res);
    const body = malformedRequestProblem(400);
    res.writeHead(400, { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
}

/**
 * Takes the upgrade requests `take` answers (the agent's WebSocket) and serves every other one as the plain
 * HTTP/1.1 request it also is, the offer ignored as a server may (RFC 9110 §7.8): once an 'upgrade' listener
 * exists, Node hands it every request that offers one (h2c from `curl --http2`, some HTTP clients' default,
 * a WebSocket to another path), and such a request would get no answer. Its head is written again without
 * the offer and put back on the socket, which the server then reads as a new connection: body, keep-alive
 * and limits as for any request. A CONNECT (no proxy here) is answered 405.
 */
export function takeUpgrades(server: http.Server, take: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => boolean): void {
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (take(req, socket, head)) return;
    socket.unshift(Buffer.concat([Buffer.from(headWithoutUpgrade(req), 'latin1'), head]));
    server.emit('connection', socket);
  });
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    const body = JSON.stringify({ ...problemHead('method_not_allowed'), status: 405, detail: 'this service is no proxy' });
    socket.on('error', () => socket.destroy());
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}

/** The upgrade offers' headers (RFC 9110 §7.8, RFC 7540 §3.2), dropped; Connection keeps its other options. */
const OFFER_HEADERS = new Set(['upgrade', 'http2-settings']);

function headWithoutUpgrade(req: http.IncomingMessage): string {
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (OFFER_HEADERS.has(lower)) continue;
    if (lower === 'connection') {
      const kept = raw[i + 1]!.split(',').map((o) => o.trim()).filter((o) => o && !OFFER_HEADERS.has(o.toLowerCase()));
      if (kept.length) lines.push(`${name}: ${kept.join(', ')}`);
      continue;
    }
    lines.push(`${name}: ${raw[i + 1]}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * A constructor that builds what `base` builds, with `prototype` (which must inherit from base's) as its
 * prototype. Node's IncomingMessage and ServerResponse are plain functions that set up `this`.
 */
function ofPrototype<C>(base: C & (new (...args: never[]) => object), prototype: object): C {
  const init = base as unknown as (this: object, ...args: unknown[]) => void;
  function Made(this: object, ...args: unknown[]): void {
    init.apply(this, args);
  }
  Made.prototype = prototype;
  return Made as unknown as C;
}
