// Cases about a request body's bytes and JSON syntax: deep nesting, invalid UTF-8, truncated JSON, bare
// scalars and prototype keys, on every route that takes a body.

import { pathsOf, setPath } from '../jsonPaths';
import { KB, ROUTES_WITH_BODY, auth, invalidOrder, json, jsonHeaders, validOrder, type Generator } from '../requests';

export const deepNesting: Generator = {
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
};

export const invalidUtf8: Generator = {
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
};

export const truncatedJson: Generator = {
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
};

export const topLevelScalar: Generator = {
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
};

export const prototypePollution: Generator = {
  name: 'prototype-pollution',
  weight: 4,
  make: (r, n, w) => {
    const payload = r.pick(['{"polluted":"yes"}', '{"isAdmin":true,"role":"admin"}', '{"orders":[]}', '{"prototype":{"polluted":"yes"}}', '{"toString":"boom"}', 'null']);
    const key = r.pick(['__proto__', 'constructor', 'prototype']);
    const where = r.pick(['create-root', 'create-nested', 'batch-root', 'batch-order', 'events', 'relay', 'query'] as const);
    const order = json(validOrder(r, n));
    const inject = (text: string) => `{"${key}":${payload},${text.slice(1)}`;
    // A key of an order that is null reads as absent, whatever its name.
    const refused = payload === 'null' ? {} : { expect: [422] };
    switch (where) {
      case 'create-root':
        return { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(w.warehouse), body: inject(order), ...refused };
      case 'create-nested':
        return { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(w.warehouse), body: order.replace('"sender":{', `"sender":{"${key}":${payload},`), ...refused };
      case 'batch-root':
        return { method: 'POST', path: '/v1/batches', headers: jsonHeaders(w.warehouse), body: `{"${key}":{"orders":[${order}]}}`, expect: [422] };
      case 'batch-order':
        return { method: 'POST', path: '/v1/batches', headers: jsonHeaders(w.warehouse), body: `[${inject(order)}]`, ...refused };
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
};
