// Fuzzing the HTTP API: well over a thousand malformed or hostile requests against a real server. Whatever
// arrives, the answer is never a 5xx, every error is problem+json with type, title, status, detail and the
// request id, and the service keeps serving afterwards. Cases come from a seeded PRNG, one stream per
// case, so a failure names its case and generator and can be replayed alone:
//   FUZZ_SEED=<seed> FUZZ_CASE=<n> npx jest test/http/fuzz.test.ts
// (FUZZ_CASES=<count> runs a longer barrage). The first cases sweep every field path of the sample orders
// with every other JSON type; the rest are drawn from the weighted generators below.
// Failures never print a request or response body (bodies may be huge, and hold personal data).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync, deflateSync } from 'node:zlib';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026);
const CASES = Number(process.env.FUZZ_CASES ?? 1500);
const ONLY = process.env.FUZZ_CASE === undefined ? undefined : Number(process.env.FUZZ_CASE);
const CONCURRENCY = 8;
const KB = 1024;

const SAMPLES: Record<string, unknown>[] = fs
  .readFileSync(path.join(__dirname, '..', '..', 'samples', 'orders.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Record<string, unknown>);

// ---------------------------------------------------------------------------------------------------
// Deterministic randomness: mulberry32, seeded per case from (SEED, case number).

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  string(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'): string {
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
}

const caseSeed = (n: number) => (Math.imul(SEED ^ 0x9e3779b9, 2654435761) + Math.imul(n + 1, 0x85ebca6b)) >>> 0;

// ---------------------------------------------------------------------------------------------------
// What a case sends and what the world it runs in looks like.

interface FuzzRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Statuses this case must get; without it only the general rules apply. */
  expect?: readonly number[];
  /** The client goes away: while its body is still uploading, or once the answer has begun. */
  abort?: 'upload' | 'response';
}

interface World {
  warehouse: string;
  courier: string;
  telephony: string;
  waybillId: string;
  waybillNo: string;
}

type Json = unknown;
type Obj = Record<string, Json>;
type Path = string[];

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** A valid order (from the samples) with an order id no other case uses. */
function validOrder(r: Rng, n: number): Obj {
  const o = clone(r.pick(SAMPLES)) as Obj;
  o.orderId = `FZ-${n}-${r.string(6)}`;
  return o;
}

function pathsOf(value: Json, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const out: Path[] = [];
  for (const [k, v] of Object.entries(value as Obj)) {
    out.push([...prefix, k]);
    out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

function objectPaths(value: Json, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return [prefix, ...Object.entries(value as Obj).flatMap(([k, v]) => objectPaths(v, [...prefix, k]))];
}

function at(root: Obj, p: Path): Obj {
  let o: Json = root;
  for (const k of p) o = (o as Obj)[k];
  return o as Obj;
}

/** Sets a key as an own enumerable data property, so `__proto__` is written out by JSON.stringify too. */
function define(target: Obj, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function setPath(root: Obj, p: Path, value: Json): void {
  define(at(root, p.slice(0, -1)), p[p.length - 1]!, value);
}

function deletePath(root: Obj, p: Path): void {
  delete at(root, p.slice(0, -1))[p[p.length - 1]!];
}

const jsonType = (v: Json) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

const ODD_VALUES: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0.0001,
  1e308,
  -1e308,
  2 ** 53 + 1,
  '',
  ' ',
  'x',
  '13800138000',
  'CN',
  '1.2',
  'true',
  'null',
  'a'.repeat(1000),
  [],
  [1, 2, 3],
  ['x'],
  [null],
  [[[]]],
  {},
  { a: 1 },
  { country: 'CN' },
  { length: 5 },
];

function differentlyTyped(r: Rng, original: Json): Json {
  const t = jsonType(original);
  for (;;) {
    const v = r.pick(ODD_VALUES);
    if (jsonType(v) !== t) return clone(v);
  }
}

const EVIL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'x', 'extra', '', ' ', 'orderId ', 'ORDERID', '\u0000', '\u202e', '😀', 'a'.repeat(500)];

/** Strings with control, bidi, zero-width, surrogate and other awkward characters. */
const NASTY_TEXT = [
  'Zhang\u0000San',
  'Zhang\u0007San',
  'Li\tSi',
  'Li\nSi',
  'Li\r\nSi',
  '\u001b[31mred\u001b[0m',
  'Wang\u007fWu',
  '\u202eredro\u202c',
  '\u202dAli\u202c',
  '\u200f\u0645\u062d\u0645\u062f',
  '\u0645\u062d\u0645\u062f \u0639\u0644\u064a',
  '\u05e9\u05dc\u05d5\u05dd',
  'Zh\u200bang\u200d',
  '\u200b\u200c\u200d\u2060',
  '\ufeffBOM name',
  'Zhao\u2028Qian',
  'Sun\u2029Li',
  '\ud800lone high',
  'lone low\udc00',
  '\udc00\ud800',
  '😀😀 emoji 👨‍👩‍👧‍👦',
  '𠀀𠀁𪚥 astral CJK',
  'Z̴̡̢̛͈͔͎̫̹̟̦̯̪̮͕̜̱̫͎͉̪̝̮̼̟̫̝͉̃̌̍̉̎̆̀̽͂̐̕͘͝͝ͅa̸l̵g̶o̷',
  'e\u0301\u0301\u0301\u0301\u0301\u0301\u0301',
  '\uffff\ufffe\ufffd',
  '\u00a0\u00a0nbsp\u00a0',
  '\u3000全角空格\u3000',
  'ﷺ ﷽',
  'ß İ ı ǅ',
  '<script>alert(1)</script>',
  "Robert'); DROP TABLE waybills;--",
  '${jndi:ldap://x/a}',
  '%s%s%s%n',
  '../../etc/passwd',
  '{{7*7}}',
  'A'.repeat(64),
  'A'.repeat(65),
  '中'.repeat(64),
  '中'.repeat(65),
];

// ---------------------------------------------------------------------------------------------------
// Generators.

type Generator = { name: string; weight: number; make: (r: Rng, n: number, w: World) => FuzzRequest };

const json = (body: unknown) => JSON.stringify(body);
const auth = (credential: string) => ({ authorization: `Bearer ${credential}` });
const jsonHeaders = (credential: string) => ({ ...auth(credential), 'content-type': 'application/json' });
/** A body that fails order validation quickly: no renders for cases that only fuzz headers or the query. */
const invalidOrder = (r: Rng, n: number) => {
  const o = validOrder(r, n);
  delete o.carrier;
  return o;
};

const ROUTES_WITH_BODY = (w: World) => [
  { path: '/v1/waybills', credential: w.warehouse },
  { path: '/v1/batches', credential: w.warehouse },
  { path: `/v1/waybills/${w.waybillId}/events`, credential: w.warehouse },
  { path: '/v1/relay/resolve', credential: w.telephony },
  { path: '/v1/relay/calls', credential: w.telephony },
];

const GENERATORS: Generator[] = [
  {
    name: 'wrong-type',
    weight: 14,
    make: (r, n, w) => {
      const order = validOrder(r, n);
      const p = r.pick(pathsOf(order));
      setPath(order, p, differentlyTyped(r, at(order, p.slice(0, -1))[p[p.length - 1]!]));
      if (r.chance(0.15)) return { method: 'POST', path: '/v1/batches?format=json', headers: jsonHeaders(w.warehouse), body: json({ orders: [order] }), expect: [422] };
      return { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(w.warehouse), body: json(order), expect: [422] };
    },
  },
  {
    name: 'missing-field',
    weight: 7,
    make: (r, n, w) => {
      const order = validOrder(r, n);
      const paths = pathsOf(order).filter((p) => p.join('.') !== 'orderId' || r.chance(0.3));
      deletePath(order, r.pick(paths));
      if (r.chance(0.3)) deletePath(order, r.pick(pathsOf(order)));
      return { method: 'POST', path: '/v1/waybills?format=json', headers: jsonHeaders(w.warehouse), body: json(order) };
    },
  },
  {
    name: 'extra-field',
    weight: 6,
    make: (r, n, w) => {
      const order = validOrder(r, n);
      define(at(order, r.pick(objectPaths(order))), r.pick(EVIL_KEYS), clone(r.pick(ODD_VALUES)));
      return { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(w.warehouse), body: json(order), expect: [422] };
    },
  },
  {
    name: 'huge-string',
    weight: 2,
    make: (r, n, w) => {
      const order = validOrder(r, n);
      const p = r.pick(pathsOf(order));
      const [size, route, limited] = r.pick([
        [50 * KB, '/v1/waybills', false],
        [100 * KB, '/v1/waybills', true],
        [2 * KB * KB, '/v1/waybills', true],
        [600 * KB, '/v1/batches', false],
        [2 * KB * KB, '/v1/batches', true],
      ] as const);
      // Under the limit only ASCII, so the body is the size it says; over it, any character (up to 3 bytes each, or escaped).
      setPath(order, p, (limited ? r.pick(['A', '中', '\u200b', '"', '\\']) : 'A').repeat(size));
      const body = route === '/v1/batches' ? json({ orders: [order] }) : json(order);
      return { method: 'POST', path: route, headers: jsonHeaders(w.warehouse), body, expect: limited ? [413] : [422] };
    },
  },
  {
    name: 'deep-nesting',
    weight: 2,
    make: (r, n, w) => {
      const target = r.pick(['create', 'batch', 'batch-ndjson', 'events', 'relay'] as const);
      const depth = target === 'batch' || target === 'batch-ndjson' ? r.pick([10_000, 100_000]) : target === 'create' ? r.pick([1_000, 10_000]) : 1_000;
      const arrays = r.chance(0.5);
      const nested = arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      if (target === 'create') {
        if (r.chance(0.5)) return { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(w.warehouse), body: nested, expect: [422] };
        const order = validOrder(r, n);
        const p = r.pick(pathsOf(order));
        setPath(order, p, 'NESTED');
        return { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(w.warehouse), body: json(order).replace('"NESTED"', nested), expect: [422] };
      }
      if (target === 'batch') return { method: 'POST', path: '/v1/batches', headers: jsonHeaders(w.warehouse), body: `{"orders":[${nested}]}`, expect: [422] };
      if (target === 'batch-ndjson') {
        const body = `${nested}\n${nested}\n`;
        return { method: 'POST', path: '/v1/batches', headers: { ...auth(w.warehouse), 'content-type': 'application/x-ndjson' }, body, expect: body.length > KB * KB ? [413] : [422] };
      }
      if (target === 'events')
        return { method: 'POST', path: `/v1/waybills/${w.waybillId}/events`, headers: jsonHeaders(w.warehouse), body: `{"type":${'['.repeat(depth)}${']'.repeat(depth)}}`, expect: [422] };
      return { method: 'POST', path: '/v1/relay/resolve', headers: jsonHeaders(w.telephony), body: `{"to":${'['.repeat(1500)}${']'.repeat(1500)}}`, expect: [422] };
    },
  },
  {
    name: 'invalid-utf8',
    weight: 4,
    make: (r, n, w) => {
      const text = Buffer.from(json(validOrder(r, n)), 'utf8');
      const parts: Buffer[] = [];
      let from = 0;
      const cuts = [...Array(r.int(1, 3))].map(() => r.int(0, text.length)).sort((a, b) => a - b);
      for (const cut of cuts) {
        parts.push(text.subarray(from, cut), Buffer.from(r.pick([[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xe4, 0xb8], [0xf4, 0x90, 0x80, 0x80], [0x00]])));
        from = cut;
      }
      parts.push(text.subarray(from));
      const route = r.pick(ROUTES_WITH_BODY(w));
      return { method: 'POST', path: route.path, headers: jsonHeaders(route.credential), body: Buffer.concat(parts) };
    },
  },
  {
    name: 'truncated-json',
    weight: 4,
    make: (r, n, w) => {
      const route = r.pick(ROUTES_WITH_BODY(w));
      const whole = route.path.startsWith('/v1/relay/resolve')
        ? json({ to: '+8617000000001', ext: '1234' })
        : route.path.startsWith('/v1/relay/calls')
          ? json({ callId: `c-${n}`, startedAt: '2026-01-01T00:00:00Z' })
          : route.path.endsWith('/events')
            ? json({ type: 'picked_up' })
            : route.path === '/v1/batches'
              ? json({ orders: [validOrder(r, n)] })
              : json(validOrder(r, n));
      return { method: 'POST', path: route.path, headers: jsonHeaders(route.credential), body: whole.slice(0, r.int(1, whole.length - 1)), expect: [400] };
    },
  },
  {
    name: 'top-level-scalar',
    weight: 3,
    make: (r, _n, w) => {
      const route = r.pick(ROUTES_WITH_BODY(w));
      const [body, status] = r.pick([
        ['1', 400],
        ['-0', 400],
        ['1e999', 400],
        ['"x"', 400],
        ['""', 400],
        ['null', 400],
        ['true', 400],
        ['false', 400],
        ['[]', 422],
        ['{}', 422],
        ['[null]', 422],
        ['[1,2,3]', 422],
        ['   ', 400],
        ['', 422],
        ['\ufeff{}', 422], // the decoder drops a byte order mark
        ['NaN', 400],
        ['undefined', 400],
        ["{'a':1}", 400],
        ['{"a":1,}', 400],
        ['{"a":1}{"b":2}', 400],
        ['/* */{}', 400],
      ] as const);
      const events = route.path.endsWith('/events');
      // An empty events body is an empty object and so an invalid event (422); everything else is as listed.
      return { method: 'POST', path: route.path, headers: jsonHeaders(route.credential), body, expect: events && status === 422 ? [422] : [status] };
    },
  },
  {
    name: 'prototype-pollution',
    weight: 4,
    make: (r, n, w) => {
      const payload = r.pick(['{"polluted":"yes"}', '{"isAdmin":true,"role":"admin"}', '{"orders":[]}', '{"prototype":{"polluted":"yes"}}', '{"toString":"boom"}', 'null']);
      const key = r.pick(['__proto__', 'constructor', 'prototype']);
      const where = r.pick(['create-root', 'create-nested', 'batch-root', 'batch-order', 'events', 'relay', 'query'] as const);
      const order = json(validOrder(r, n));
      const inject = (text: string) => `{"${key}":${payload},${text.slice(1)}`;
      switch (where) {
        case 'create-root':
          return { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(w.warehouse), body: inject(order), expect: [422] };
        case 'create-nested':
          return { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(w.warehouse), body: order.replace('"sender":{', `"sender":{"${key}":${payload},`), expect: [422] };
        case 'batch-root':
          return { method: 'POST', path: '/v1/batches', headers: jsonHeaders(w.warehouse), body: `{"${key}":{"orders":[${order}]}}`, expect: [422] };
        case 'batch-order':
          return { method: 'POST', path: '/v1/batches', headers: jsonHeaders(w.warehouse), body: `[${inject(order)}]`, expect: [422] };
        case 'events':
          return { method: 'POST', path: `/v1/waybills/${w.waybillId}/events`, headers: jsonHeaders(w.warehouse), body: `{"${key}":{"type":"cancelled"}}`, expect: [422] };
        case 'relay':
          return { method: 'POST', path: '/v1/relay/resolve', headers: jsonHeaders(w.telephony), body: `{"${key}":{"to":"+8617000000001","ext":"1234"}}`, expect: [422] };
        case 'query':
          return {
            method: 'POST',
            path: `/v1/waybills?${key}=1&${key}[polluted]=yes&${key}.polluted=yes`,
            headers: jsonHeaders(w.warehouse),
            body: json(invalidOrder(r, n)),
            expect: [422],
          };
      }
    },
  },
  {
    name: 'nasty-text',
    weight: 6,
    make: (r, n, w) => {
      const order = validOrder(r, n);
      const field = r.pick([['sender', 'name'], ['recipient', 'name'], ['parcel', 'contents'], ['orderId'], ['routingCode'], ['recipient', 'address', 'city'], ['sender', 'phone']]);
      let text = r.pick(NASTY_TEXT);
      if (field[0] === 'orderId') text = `${text}-${n}`;
      setPath(order, field, text);
      return { method: 'POST', path: '/v1/waybills?format=json', headers: jsonHeaders(w.warehouse), body: json(order) };
    },
  },
  {
    name: 'content-type',
    weight: 6,
    make: (r, n, w) => {
      const route = r.pick(ROUTES_WITH_BODY(w).filter((x) => !x.path.startsWith('/v1/relay')));
      const [type, status] = r.pick([
        ['text/plain', 415],
        ['text/plain; charset=utf-8', 415],
        ['application/xml', 415],
        ['text/xml', 415],
        ['multipart/form-data; boundary=----fuzz', 415],
        ['application/x-www-form-urlencoded', 415],
        ['application/octet-stream', 415],
        ['application/merge-patch+json', 415],
        ['application/json; charset=latin1', 415],
        ['application/json; charset=iso-8859-1', 415],
        ['application/json; charset=utf-7', 415], // JSON is UTF-8: "+86…" would mean something else in UTF-7
        ['application/json; charset=ebcdic', 415],
        ['application/json; charset="utf-8"', undefined],
        ['APPLICATION/JSON', undefined],
        ['application/json;;;', undefined], // type-is reads the type and ignores empty parameters
        ['application/json; charset', undefined], // likewise a parameter without a value
        ['application/json; charset=utf-16', 415],
        ['application/json; charset=utf-32', 415],
        ['application/json, text/plain', 415],
        ['json', 415],
        ['*/*', 415],
        ['application/*', 415],
        ['', 415],
        [undefined, 415],
      ] as const);
      const headers: Record<string, string> = { ...auth(route.credential) };
      if (type !== undefined) headers['content-type'] = type;
      const text = route.path === '/v1/batches' ? json({ orders: [invalidOrder(r, n)] }) : route.path.endsWith('/events') ? json({ type: 'picked_up' }) : json(invalidOrder(r, n));
      // A Buffer body makes fetch send no content type of its own.
      return { method: 'POST', path: route.path, headers, body: Buffer.from(text, 'utf8'), ...(status ? { expect: [status] } : {}) };
    },
  },
  {
    name: 'relay-content-type',
    weight: 2,
    make: (r, _n, w) => {
      const type = r.pick(['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/json; charset=utf-7', undefined]);
      const headers: Record<string, string> = { ...auth(w.telephony) };
      if (type !== undefined) headers['content-type'] = type;
      return { method: 'POST', path: r.pick(['/v1/relay/resolve', '/v1/relay/calls']), headers, body: Buffer.from(json({ to: '+8617000000001', ext: '1234' })) };
    },
  },
  {
    name: 'content-encoding',
    weight: 3,
    make: (r, n, w) => {
      const plain = Buffer.from(json(invalidOrder(r, n)));
      const [encoding, body, status] = r.pick([
        ['gzip', Buffer.from('definitely not gzip'), 400],
        ['deflate', Buffer.from([0x78, 0x9c, 0xff, 0xff, 0x00]), 400],
        ['br', Buffer.from([0xff, 0xff, 0xff]), undefined],
        ['compress', plain, 415],
        ['zstd', plain, 415],
        ['gzip, gzip', plain, 415],
        ['identity', plain, 422],
        ['gzip', gzipSync(plain), 422],
        ['deflate', deflateSync(plain), 422],
        ['gzip', gzipSync(plain).subarray(0, 20), 400],
        ['gzip', gzipSync(Buffer.alloc(8 * KB * KB, 0x20)), 413],
      ] as const);
      return { method: 'POST', path: '/v1/waybills', headers: { ...jsonHeaders(w.warehouse), 'content-encoding': encoding }, body, ...(status ? { expect: [status] } : {}) };
    },
  },
  {
    name: 'wrong-method',
    weight: 4,
    make: (r, _n, w) => {
      const method = r.pick(['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'GET', 'POST', 'PROPFIND', 'PURGE', 'MKCOL', 'LOCK']);
      const target = r.pick([
        '/v1/waybills',
        '/v1/batches',
        `/v1/waybills/${w.waybillId}`,
        `/v1/waybills/${w.waybillId}/label?format=bogus`,
        `/v1/waybills/${w.waybillId}/events`,
        '/v1/relay/resolve',
        '/v1/relay/calls',
        '/v1/scan/abc?purpose=bogus',
        '/healthz',
        '/readyz',
        '/openapi.json',
        '/w/abc',
        '/',
      ]);
      // GET on the label and scan routes is allowed; the query above keeps them from rendering or counting.
      const credential = target.startsWith('/v1/relay') ? w.telephony : target.startsWith('/v1/scan') ? w.courier : w.warehouse;
      const hasBody = method !== 'GET' && method !== 'HEAD';
      return { method, path: target, headers: { ...auth(credential), ...(hasBody ? { 'content-type': 'application/json' } : {}) }, ...(hasBody ? { body: '{"type":"bogus"}' } : {}) };
    },
  },
  {
    name: 'idempotency-key',
    weight: 4,
    make: (r, n, w) => {
      const [key, status] = r.pick([
        ['', 422],
        ['short', 422],
        ['1234567', 422],
        ['a'.repeat(256), 422],
        ['a'.repeat(4000), 422],
        ['has space inside', 422],
        ['tab\there-too', 422],
        ['ñññññññññññ', 422],
        ['key\u00ff\u00fe\u00fd-long-enough', 422],
        ['"quoted-key-is-visible"', undefined],
        [`fuzz-key-${n}-${r.string(12)}`, undefined],
        ['   padded-key-trimmed   ', undefined],
      ] as const);
      const order = r.chance(0.5) ? validOrder(r, n) : invalidOrder(r, n);
      return { method: 'POST', path: '/v1/waybills?format=json', headers: { ...jsonHeaders(w.warehouse), 'idempotency-key': key }, body: json(order), ...(status ? { expect: [status] } : {}) };
    },
  },
  {
    name: 'accept',
    weight: 5,
    make: (r, n, w) => {
      const accept = r.pick([
        'image/gif',
        '*/*;q=abc',
        'application/pdf;dpi=999',
        'application/pdf;dpi=',
        'application/pdf;dpi',
        'application/pdf;dpi=203;dpi=999',
        'application/json;q=0',
        'application/json;q=-1',
        'application/json;q=1e309',
        'application/json;q=NaN',
        'text/html,application/xhtml+xml,application/xml;q=0.9',
        ';;;',
        ',,,',
        ' ',
        '*',
        '/',
        'application/*;dpi=abc',
        '*/*;dpi=300',
        'application/PDF;DPI=300',
        'application/pdf;q=0.5;dpi=203, image/gif;q=1',
        'a'.repeat(8000),
        'application/json;' + 'x=y;'.repeat(1000),
        'ÿ/ÿ',
        '__proto__/constructor',
      ]);
      const where = r.pick(['create', 'create', 'batch', 'label'] as const);
      if (where === 'label')
        // A bad copies value keeps an acceptable Accept from rendering a reprint.
        return { method: 'GET', path: `/v1/waybills/${w.waybillId}/label?copies=bogus`, headers: { ...auth(w.warehouse), accept } };
      const body = where === 'batch' ? json({ orders: [invalidOrder(r, n)] }) : json(invalidOrder(r, n));
      return { method: 'POST', path: where === 'batch' ? '/v1/batches' : '/v1/waybills', headers: { ...jsonHeaders(w.warehouse), accept }, body, expect: [406, 422] };
    },
  },
  {
    name: 'query',
    weight: 5,
    make: (r, n, w) => {
      const bad = r.pick([
        'copies=foo',
        'copies=',
        'copies=,,,',
        'copies=courier,,',
        `copies=${'courier,'.repeat(50)}`,
        'copies=courier&copies=recipient',
        'dpi=[]',
        'dpi=999',
        'dpi=203.0',
        'dpi=203&dpi=300',
        'dpi=',
        'format[]=pdf',
        'format=pdf&format=json',
        'format=PDF',
        'format=xml',
        'format=',
        'format=%00',
        'template=../../etc/passwd',
        'template=..%2F..%2Fetc%2Fpasswd',
        'template=constructor',
        'template=__proto__',
        'template=%E0%A4%A',
        `template=${'a'.repeat(5000)}`,
        'unknown=1',
        'purpose=delivery',
        '%ff=%ff',
        '=',
        '&&&',
        'a[b][c]=d',
        '__proto__=x',
        'toString=x&hasOwnProperty=y',
      ]);
      const good = r.pick(['', 'format=json&', 'dpi=203&', 'copies=courier&', 'template=cn-4copy&']);
      const where = r.pick(['create', 'batch', 'label'] as const);
      if (where === 'label') return { method: 'GET', path: `/v1/waybills/${w.waybillId}/label?${good}${bad}`, headers: auth(w.warehouse) };
      const body = where === 'batch' ? json({ orders: [invalidOrder(r, n)] }) : json(invalidOrder(r, n));
      return { method: 'POST', path: `${where === 'batch' ? '/v1/batches' : '/v1/waybills'}?${good}${bad}`, headers: jsonHeaders(w.warehouse), body, expect: [422] };
    },
  },
  {
    name: 'authorization',
    weight: 5,
    make: (r, n, w) => {
      const [value, status] = r.pick([
        [undefined, 401],
        ['', 401],
        ['Bearer', 401],
        ['Bearer ', 401],
        ['Bearer    ', 401],
        ['Basic dXNlcjpwYXNz', 401],
        ['Digest username="x"', 401],
        [`Token ${w.warehouse}`, 401],
        [w.warehouse, 401],
        [`Bearer ${w.warehouse}x`, 401],
        [`Bearer ${w.warehouse.slice(0, -1)}`, 401],
        [`Bearer ${w.warehouse} ${w.warehouse}`, 401],
        [`Bearer ${w.warehouse},Bearer ${w.warehouse}`, 401],
        [`Bearer wbk_${r.string(40)}`, 401],
        [`Bearer wbc_${r.string(40)}`, 401],
        [`Bearer wbt_${r.string(40)}`, 401],
        ['Bearer wbk_', 401],
        ['Bearer wbk_%00', 401],
        [`Bearer wbk_${'A'.repeat(8000)}`, 401],
        ['Bearer ÿÿÿÿÿÿ', 401],
        ['Bearer null', 401],
        ['Bearer undefined', 401],
        ['Bearer __proto__', 401],
      ] as const);
      const route = r.pick([
        ['POST', '/v1/waybills'],
        ['POST', '/v1/batches'],
        ['GET', `/v1/waybills/${w.waybillId}`],
        ['GET', `/v1/waybills/${w.waybillId}/label`],
        ['POST', `/v1/waybills/${w.waybillId}/events`],
        ['GET', '/v1/scan/abc?purpose=delivery'],
        ['POST', '/v1/relay/resolve'],
        ['POST', '/v1/relay/calls'],
      ] as const);
      const headers: Record<string, string> = route[0] === 'POST' ? { 'content-type': 'application/json' } : {};
      if (value !== undefined) headers.authorization = value;
      return { method: route[0], path: route[1], headers, ...(route[0] === 'POST' ? { body: json(invalidOrder(r, n)) } : {}), expect: [status] };
    },
  },
  {
    name: 'wrong-role',
    weight: 2,
    make: (r, n, w) => {
      const [method, target, credential, status] = r.pick([
        ['POST', '/v1/waybills', w.courier, 403],
        ['POST', '/v1/waybills', w.telephony, 403],
        ['POST', '/v1/batches', w.courier, 403],
        ['GET', `/v1/waybills/${w.waybillId}`, w.courier, 403],
        ['GET', `/v1/waybills/${w.waybillId}`, w.telephony, 403],
        ['GET', `/v1/waybills/${w.waybillId}/label`, w.courier, 403],
        ['POST', `/v1/waybills/${w.waybillId}/events`, w.telephony, 403],
        ['GET', '/v1/scan/abc?purpose=delivery', w.warehouse, 401],
        ['GET', '/v1/scan/abc?purpose=delivery', w.telephony, 401],
        ['POST', '/v1/relay/resolve', w.warehouse, 401],
        ['POST', '/v1/relay/calls', w.courier, 401],
      ] as const);
      return { method, path: target, headers: { ...auth(credential), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, ...(method === 'POST' ? { body: json(invalidOrder(r, n)) } : {}), expect: [status] };
    },
  },
  {
    name: 'path-segment',
    weight: 5,
    make: (r, _n, w) => {
      const segment = r.pick([
        '..%2F..%2Fetc%2Fpasswd',
        '..%252F..%252Fetc',
        '%2e%2e%2f%2e%2e%2f',
        '..%5c..%5cwindows',
        '%',
        '%%',
        '%E0%A4%A',
        '%C0%AE%C0%AE',
        '%ED%A0%80',
        '%00',
        '%ff',
        '%0d%0aSet-Cookie:%20x=y',
        '%20',
        ';',
        '..;',
        '*',
        '~',
        'A'.repeat(8000),
        '9'.repeat(31),
        'ZT' + '1'.repeat(28),
        '00000000-0000-0000-0000-000000000000',
        w.waybillId.toUpperCase(),
        `${w.waybillId}%00`,
        `${w.waybillId};x`,
        w.waybillNo.toLowerCase(),
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
        '%F0%9F%98%80',
        'wbk_secret',
        "1'%20OR%20'1'='1",
      ]);
      const [method, template, credential] = r.pick([
        ['GET', '/v1/waybills/:x', w.warehouse],
        ['GET', '/v1/waybills/:x/label', w.warehouse],
        ['POST', '/v1/waybills/:x/events', w.warehouse],
        ['GET', '/v1/scan/:x?purpose=delivery', w.courier],
        ['GET', '/w/:x', w.courier],
        ['GET', '/v1/waybills/:x/label/extra', w.warehouse],
        ['GET', '/v1//waybills/:x', w.warehouse],
        ['GET', '/v1/waybills/:x/', w.warehouse],
        ['GET', '/v1/relay/:x', w.telephony],
        ['GET', '/:x', w.warehouse],
      ] as const);
      const headers: Record<string, string> = { ...auth(credential), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) };
      return { method, path: template.replace(':x', segment), headers, ...(method === 'POST' ? { body: '{"type":"picked_up"}' } : {}) };
    },
  },
  {
    name: 'relay-body',
    weight: 6,
    make: (r, n, w) => {
      const odd = () => clone(r.pick([...ODD_VALUES, '+8617000000001', '8617000000001', '+86 170 0000 0001', '+999999999999999', '1234', '12345', '١٢٣٤', '+8617000000001\u0000', '2026-13-45T99:99:99Z', '+275760-09-13T00:00:00.000Z', '2026-01-01T00:00:00Z', '00000000-0000-0000-0000-000000000000']));
      if (r.chance(0.5)) {
        const body: Obj = { to: odd(), ext: odd() };
        if (r.chance(0.5)) body.from = odd();
        if (r.chance(0.1)) define(body, r.pick(EVIL_KEYS), 1);
        return { method: 'POST', path: '/v1/relay/resolve', headers: jsonHeaders(w.telephony), body: json(body) };
      }
      const body: Obj = { callId: r.chance(0.3) ? `call-${n}` : odd() };
      for (const k of ['bindingId', 'startedAt', 'answeredAt', 'endedAt', 'releaseCause']) if (r.chance(0.4)) body[k] = odd();
      if (r.chance(0.1)) define(body, r.pick(EVIL_KEYS), 1);
      return { method: 'POST', path: '/v1/relay/calls', headers: jsonHeaders(w.telephony), body: json(body) };
    },
  },
  {
    name: 'event-body',
    weight: 4,
    make: (r, _n, w) => {
      const body = r.pick<Json>([
        { type: 'teleported' },
        { type: '' },
        { type: 'DELIVERED' },
        { type: 'delivered ' },
        { type: ['delivered'] },
        { type: null },
        { type: 1 },
        { type: { type: 'delivered' } },
        { type: 'picked_up', at: '2026-01-01T00:00:00Z' },
        { kind: 'delivered' },
        {},
        [],
        [{ type: 'delivered' }],
        { type: 'after_sales' },
        { type: 'picked_up' },
      ]);
      return { method: 'POST', path: `/v1/waybills/${w.waybillId}/events`, headers: jsonHeaders(r.chance(0.5) ? w.courier : w.warehouse), body: json(body) };
    },
  },
  {
    name: 'batch-shape',
    weight: 6,
    make: (r, n, w) => {
      const bad = invalidOrder(r, n);
      const ok = validOrder(r, n);
      const ndjson = (text: string) => ({ method: 'POST', path: '/v1/batches', headers: { ...auth(w.warehouse), 'content-type': r.pick(['application/x-ndjson', 'application/x-ndjson; charset=utf-8', 'application/x-ndjson; charset=latin1']) }, body: text });
      const jsonBatch = (body: string, expect?: number[]) => ({ method: 'POST', path: '/v1/batches', headers: jsonHeaders(w.warehouse), body, ...(expect ? { expect } : {}) });
      switch (r.int(0, 16)) {
        case 0:
          return jsonBatch(json({ orders: [ok, bad] }), [422]);
        case 1:
          return jsonBatch(json({ orders: 'all of them' }), [422]);
        case 2:
          return jsonBatch(json({ orders: {} }), [422]);
        case 3:
          return jsonBatch(json({ orders: [] }), [422]);
        case 4:
          return jsonBatch(json({ orders: [ok], extra: 1 }), [422]);
        case 5:
          return jsonBatch(json([[], {}, null, 1, 'x']), [422]);
        case 6:
          return jsonBatch(json({ orders: [ok, { ...ok }] }), [409]); // the same order id twice
        case 7:
          return jsonBatch(`[${'{},'.repeat(10_000)}{}]`, [413]);
        case 8:
          return ndjson(`${'{}\n'.repeat(10_001)}`);
        case 9:
          return ndjson(`${json(ok)}\nnot json\n`);
        case 10:
          return ndjson(`\ufeff${json(bad)}\n`);
        case 11:
          return ndjson(`${json(ok)}\r${json(bad)}\r`);
        case 12:
          return ndjson('\n\n\n   \n\t\n');
        case 13:
          return ndjson(`${json(bad)}\n${'x'.repeat(50_000)}`);
        case 14:
          return ndjson(`1\n"x"\nnull\n[]\n${json(bad)}`);
        case 15:
          return jsonBatch(json({ orders: [{ ...ok, orderId: 'FZ-setup' }] }), [409]); // a retried batch: the order id has a waybill
        default:
          return jsonBatch(json({ orders: [ok, bad].concat(Array(50).fill(bad)) }), [422]);
      }
    },
  },
  {
    name: 'scan',
    weight: 4,
    make: (r, _n, w) => {
      const token = r.pick(['abc', 'A'.repeat(43), 'A'.repeat(500), '%00', '%', '..%2F', '-_-_-_-_', r.string(43, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')]);
      const query = r.pick(['', '?purpose=', '?purpose=delivery', '?purpose=teleport', '?purpose[]=delivery', '?purpose=delivery&purpose=delivery', '?purpose=%00', '?purpose=%E0%A4%A', `?purpose=${'x'.repeat(3000)}`]);
      return { method: 'GET', path: `/v1/scan/${token}${query}`, headers: auth(w.courier) };
    },
  },
  {
    name: 'client-abort',
    weight: 1,
    make: (r, n, w) => {
      if (r.chance(0.5)) {
        // A valid batch whose client leaves after the first bytes of the PDF: the print must stop, record
        // nothing, and leave the service (and its count of running batches) as it was.
        const orders = Array.from({ length: r.int(5, 20) }, (_, i) => ({ ...validOrder(r, n), orderId: `FZ-${n}-abort-${i}` }));
        return { method: 'POST', path: '/v1/batches?template=cn-1ply-76x130', headers: jsonHeaders(w.warehouse), body: json({ orders }), expect: [201], abort: 'response' };
      }
      const orders = Array.from({ length: 600 }, (_, i) => ({ ...validOrder(r, n), orderId: `FZ-${n}-upload-${i}` }));
      return { method: 'POST', path: '/v1/batches', headers: jsonHeaders(w.warehouse), body: json({ orders }), abort: 'upload' };
    },
  },
  {
    name: 'request-id',
    weight: 2,
    make: (r, n, w) => {
      const id = r.pick(['short', 'a'.repeat(65), 'has space in it', '../../../etc', 'ÿÿÿÿÿÿÿÿÿÿ', '<script>x</script>', 'valid-request-id-1234', `fuzz.${n}.abcdefgh`]);
      return { method: 'POST', path: '/v1/waybills', headers: { ...jsonHeaders(w.warehouse), 'x-request-id': id }, body: json(invalidOrder(r, n)), expect: [422] };
    },
  },
];

const TOTAL_WEIGHT = GENERATORS.reduce((s, g) => s + g.weight, 0);

/**
 * Every field path that occurs in any sample order (taken from the first sample that has it), each set to
 * a value of every other JSON type: the first cases, before the random ones.
 */
const SWEEP: { sample: number; path: Path; value: Json }[] = (() => {
  const byPath = new Map<string, { sample: number; path: Path }>();
  SAMPLES.forEach((o, sample) => {
    for (const p of pathsOf(o)) if (!byPath.has(p.join('.'))) byPath.set(p.join('.'), { sample, path: p });
  });
  const representatives: Json[] = ['text', 42, null, true, ['text'], { text: 1 }];
  return [...byPath.values()].flatMap(({ sample, path: p }) => {
    const original = at(SAMPLES[sample]!, p.slice(0, -1))[p[p.length - 1]!];
    return representatives.filter((v) => jsonType(v) !== jsonType(original)).map((value) => ({ sample, path: p, value }));
  });
})();

function caseFor(n: number, world: World): { generator: string; request: FuzzRequest } {
  const sweep = SWEEP[n];
  if (sweep) {
    const order = clone(SAMPLES[sweep.sample]!);
    order.orderId = `FZ-${n}-sweep`;
    setPath(order, sweep.path, clone(sweep.value));
    return { generator: 'wrong-type-sweep', request: { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(world.warehouse), body: json(order), expect: [422] } };
  }
  const r = new Rng(caseSeed(n));
  let x = r.next() * TOTAL_WEIGHT;
  let g = GENERATORS[GENERATORS.length - 1]!;
  for (const candidate of GENERATORS) {
    if ((x -= candidate.weight) < 0) {
      g = candidate;
      break;
    }
  }
  return { generator: g.name, request: g.make(r, n, world) };
}

// ---------------------------------------------------------------------------------------------------
// Sending and judging. Only the case number, generator and what was wrong are ever reported.

async function judge(base: string, n: number, generator: string, req: FuzzRequest): Promise<string | undefined> {
  const where = `case ${n} (${generator})`;
  let res: Response;
  const controller = new AbortController();
  const timer = req.abort === 'upload' ? setTimeout(() => controller.abort(), 2) : undefined;
  try {
    res = await fetch(`${base}${req.path}`, {
      method: req.method,
      headers: req.headers ?? {},
      ...(req.body !== undefined ? { body: req.body } : {}),
      redirect: 'manual',
      signal: controller.signal,
    });
  } catch (e) {
    if (req.abort && (e as Error).name === 'AbortError') return undefined;
    const cause = (e as { cause?: { code?: string; name?: string } }).cause;
    return `${where}: request failed (${(e as Error).name}${cause ? `: ${cause.code ?? cause.name ?? ''}` : ''})`;
  } finally {
    clearTimeout(timer);
  }
  if (req.abort === 'response') {
    const reader = res.body?.getReader();
    await reader?.read().catch(() => undefined);
    controller.abort();
    if (res.status >= 500) return `${where}: server error ${res.status}`;
    if (req.expect && !req.expect.includes(res.status)) return `${where}: expected status ${req.expect.join(' or ')}, got ${res.status}`;
    return undefined;
  }
  const text = await res.text().catch(() => undefined);
  if (text === undefined) return `${where}: status ${res.status}, response body unreadable`;
  if (res.status >= 500) return `${where}: server error ${res.status}`;
  if (req.expect && !req.expect.includes(res.status)) return `${where}: expected status ${req.expect.join(' or ')}, got ${res.status}`;
  if (res.status < 400) return undefined;

  const type = res.headers.get('content-type') ?? '';
  if (!/^application\/problem\+json(;|$)/.test(type)) return `${where}: status ${res.status} with content type "${type.slice(0, 60)}", not application/problem+json`;
  if (req.method === 'HEAD') return undefined;
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `${where}: status ${res.status}, problem body is not JSON`;
  }
  if (typeof problem !== 'object' || problem === null || Array.isArray(problem)) return `${where}: status ${res.status}, problem body is not an object`;
  for (const field of ['type', 'title', 'detail', 'requestId'])
    if (typeof problem[field] !== 'string' || problem[field] === '') return `${where}: status ${res.status}, problem lacks a string "${field}"`;
  if (problem.status !== res.status) return `${where}: status ${res.status}, problem says status ${String(problem.status)}`;
  if (problem.requestId !== res.headers.get('x-request-id')) return `${where}: status ${res.status}, problem requestId differs from X-Request-Id`;
  return undefined;
}

async function pool<T>(items: Iterable<T>, limit: number, run: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  const worker = async () => {
    for (let next = it.next(); !next.done; next = it.next()) await run(next.value);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

// ---------------------------------------------------------------------------------------------------

describe('HTTP API under fuzzing', () => {
  let dir: string;
  let services: Services;
  let running: RunningService;
  let base: string;
  let world: World;

  const credential = async (args: string[]) => {
    const lines: string[] = [];
    await apiKeyCommand(['create', ...args], services, (l) => lines.push(...l.split('\n')));
    const found = lines.map((l) => /^credential: (\S+)$/.exec(l)?.[1]).find(Boolean);
    if (!found) throw new Error(`no credential printed for ${args.slice(0, 2).join(' ')}`);
    return found;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-fuzz-'));
    const config = loadConfig({
      WAYBILL_DATA_DIR: dir,
      WAYBILL_RELAY_NUMBERS: '+8617000000001',
      WAYBILL_BATCH_BODY_LIMIT: '1mb',
      WAYBILL_LOG_LEVEL: 'silent',
      // The per-key rate limit would turn the barrage into 429s and hide what each case is about.
      WAYBILL_API_RATE_PER_SECOND: '100000',
      // More batch slots than requests in flight (plus a few abandoned ones still winding down), so a 503
      // can only mean batches that never gave their slot back.
      WAYBILL_MAX_CONCURRENT_BATCHES: String(CONCURRENCY + 4),
    });
    services = await openServices(config, () => {});
    running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
    base = running.url;
    const warehouse = await credential(['--role', 'warehouse', '--name', 'wh', '--client', 'acme']);
    const courier = await credential(['--role', 'courier', '--name', 'c1', '--carrier', 'ZT', '--outlet', 'HZ-01', '--device', 'HH-1']);
    const telephony = await credential(['--role', 'telephony', '--name', 'pbx']);
    const order = { ...clone(SAMPLES.find((o) => o.carrier === 'ZT')!), orderId: 'FZ-setup' };
    const created = await fetch(`${base}/v1/waybills?format=json`, { method: 'POST', headers: jsonHeaders(warehouse), body: json(order) });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { id: string; waybillNo: string };
    world = { warehouse, courier, telephony, waybillId: body.id, waybillNo: body.waybillNo };
  });

  afterAll(async () => {
    await running?.shutdown();
    await services?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`answers ${CASES} hostile requests without a 5xx, always with problem+json errors, and keeps serving`, async () => {
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const failures: string[] = [];
    const seen = new Map<string, number>();
    const numbers = ONLY === undefined ? Array.from({ length: CASES }, (_, i) => i) : [ONLY];
    const started = Date.now();

    await pool(numbers, CONCURRENCY, async (n) => {
      // Built when sent, so at most CONCURRENCY big bodies are held at once.
      let generator = 'unknown';
      try {
        const c = caseFor(n, world);
        generator = c.generator;
        seen.set(generator, (seen.get(generator) ?? 0) + 1);
        const failure = await judge(base, n, generator, c.request);
        if (failure) failures.push(failure);
      } catch (e) {
        failures.push(`case ${n} (${generator}): generator or check threw ${(e as Error).name}`);
      }
    });

    const seconds = (Date.now() - started) / 1000;
    if (failures.length)
      process.stderr.write(`fuzz seed ${SEED}: ${failures.length} of ${numbers.length} cases failed; replay one with FUZZ_SEED=${SEED} FUZZ_CASE=<n>\n`);
    else process.stderr.write(`fuzz seed ${SEED}: ${numbers.length} cases in ${seconds.toFixed(1)} s (${[...seen].map(([g, c]) => `${g} ${c}`).join(', ')})\n`);
    expect(failures.sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))).toEqual([]);
    if (ONLY === undefined) {
      expect(numbers.length).toBeGreaterThanOrEqual(1000);
      expect(seen.size).toBe(GENERATORS.length + 1); // and the sweep
    }

    // Nothing leaked into the prototype of every object in this process.
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();

    // And the service still serves.
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const order = { ...clone(SAMPLES[0]!), orderId: 'FZ-after-the-barrage' };
    const created = await fetch(`${base}/v1/waybills`, { method: 'POST', headers: jsonHeaders(world.warehouse), body: json(order) });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { orderId: string }).orderId).toBe('FZ-after-the-barrage');
    const read = await fetch(`${base}/v1/waybills/${world.waybillId}`, { headers: auth(world.warehouse) });
    expect(read.status).toBe(200);
    // Batches still render: none of the abandoned ones is still counted as running.
    const batch = await fetch(`${base}/v1/batches?template=cn-1ply-76x130`, {
      method: 'POST',
      headers: jsonHeaders(world.warehouse),
      body: json({ orders: [{ ...clone(SAMPLES[1]!), orderId: 'FZ-batch-after-the-barrage' }] }),
    });
    expect(batch.status).toBe(201);
    expect(Buffer.from(await batch.arrayBuffer()).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  }, 180_000);
});
