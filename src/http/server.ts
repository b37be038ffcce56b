// The HTTP server for the app. Express gives every request and response its app's prototypes with
// Object.setPrototypeOf; done to Node's freshly made objects, that costs V8 new hidden-class work per
// request and keeps each request's objects alive through young-generation collections. Measured at 500
// scans/s: ~5 MB promoted per second and 5–15 ms collector pauses, which were the scan's p99. Here the
// server makes requests and responses of the app's prototypes from the start, so express's call finds
// the prototype already set and changes nothing.

import http from 'node:http';
import type express from 'express';

export function createServer(app: express.Express): http.Server {
  return http.createServer({ IncomingMessage: ofPrototype(http.IncomingMessage, app.request), ServerResponse: ofPrototype(http.ServerResponse, app.response) }, app);
}

/** A constructor that builds what `base` builds, with `prototype` (which must inherit from base's) as its prototype. */
function ofPrototype<C>(base: C & (new (...args: never[]) => object), prototype: object): C {
  function Made(...args: unknown[]): object {
    return Reflect.construct(base, args, Made);
  }
  Made.prototype = prototype;
  return Made as unknown as C;
}
