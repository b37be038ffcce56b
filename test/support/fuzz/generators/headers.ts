// Cases about request headers: content type and encoding, idempotency key, Accept, Authorization and
// role, request id.

import { deflateSync, gzipSync } from 'node:zlib';
import { KB, ROUTES_WITH_BODY, auth, invalidOrder, json, jsonHeaders, validOrder, type Generator } from '../requests';

export const contentType: Generator = {
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
};

export const relayContentType: Generator = {
  name: 'relay-content-type',
  weight: 2,
  make: (r, _n, w) => {
    const type = r.pick(['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/json; charset=utf-7', undefined]);
    const headers: Record<string, string> = { ...auth(w.telephony) };
    if (type !== undefined) headers['content-type'] = type;
    return { method: 'POST', path: r.pick(['/v1/relay/resolve', '/v1/relay/calls']), headers, body: Buffer.from(json({ to: '+8617000000001', ext: '1234' })) };
  },
};

export const contentEncoding: Generator = {
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
};

export const idempotencyKey: Generator = {
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
};

export const accept: Generator = {
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
};

export const authorization: Generator = {
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
};

export const wrongRole: Generator = {
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
      // The routes that check one kind of credential themselves refuse another role's as such, not as unknown.
      ['GET', '/v1/scan/abc?purpose=delivery', w.warehouse, 403],
      ['GET', '/v1/scan/abc?purpose=delivery', w.telephony, 403],
      ['POST', '/v1/relay/resolve', w.warehouse, 403],
      ['POST', '/v1/relay/calls', w.courier, 403],
    ] as const);
    return { method, path: target, headers: { ...auth(credential), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, ...(method === 'POST' ? { body: json(invalidOrder(r, n)) } : {}), expect: [status] };
  },
};

export const requestId: Generator = {
  name: 'request-id',
  weight: 2,
  make: (r, n, w) => {
    const id = r.pick(['short', 'a'.repeat(65), 'has space in it', '../../../etc', 'ÿÿÿÿÿÿÿÿÿÿ', '<script>x</script>', 'valid-request-id-1234', `fuzz.${n}.abcdefgh`]);
    return { method: 'POST', path: '/v1/waybills', headers: { ...jsonHeaders(w.warehouse), 'x-request-id': id }, body: json(invalidOrder(r, n)), expect: [422] };
  },
};
