// The HTTP server for the app. Express gives every request and response its app's prototypes with
// Object.setPrototypeOf; done to Node's freshly made objects, that costs V8 hidden-class work per request
// and sends each request's objects to the old generation. Here the server makes requests and responses of
// the app's prototypes from the start, so express's call finds the prototype already set and changes
// nothing. They are built by calling Node's constructors on an object made with `new`: building them with
// Reflect.construct and another new.target would give every object a hidden class (V8 map) of its own,
// which is worse still: every request's objects then reach the old generation (measured on `serve
// --workers 1`, /healthz over 10 connections: 28k → 153k requests in 8 s).

import http from 'node:http';
import type express from 'express';
import { malformedRequestProblem } from './problem';

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
