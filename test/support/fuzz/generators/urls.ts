// Cases about the method and URL: wrong methods, odd query strings, hostile path segments, scan tokens.

import { auth, invalidOrder, json, jsonHeaders, type Generator } from '../requests';

export const wrongMethod: Generator = {
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
};

export const query: Generator = {
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
    // A broken %-sequence is refused before the query is read (400), anything else by the query's schema.
    const broken = (() => {
      try {
        decodeURIComponent(bad);
        return false;
      } catch {
        return true;
      }
    })();
    return { method: 'POST', path: `${where === 'batch' ? '/v1/batches' : '/v1/waybills'}?${good}${bad}`, headers: jsonHeaders(w.warehouse), body, expect: [broken ? 400 : 422] };
  },
};

export const pathSegment: Generator = {
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
};

export const scan: Generator = {
  name: 'scan',
  weight: 4,
  make: (r, _n, w) => {
    const token = r.pick(['abc', 'A'.repeat(43), 'A'.repeat(500), '%00', '%', '..%2F', '-_-_-_-_', r.string(43, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')]);
    const query = r.pick(['', '?purpose=', '?purpose=delivery', '?purpose=teleport', '?purpose[]=delivery', '?purpose=delivery&purpose=delivery', '?purpose=%00', '?purpose=%E0%A4%A', `?purpose=${'x'.repeat(3000)}`]);
    return { method: 'GET', path: `/v1/scan/${token}${query}`, headers: auth(w.courier) };
  },
};
