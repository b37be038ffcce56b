// Cases about what an order says: fields of another JSON type, missing or extra fields, huge values and
// awkward text in printed fields.

import { EVIL_KEYS, NASTY_TEXT, ODD_VALUES, differentlyTyped } from '../hostileValues';
import { at, clone, define, deletePath, objectPaths, pathsOf, setPath } from '../jsonPaths';
import { KB, json, jsonHeaders, validOrder, type Generator } from '../requests';

export const wrongType: Generator = {
  name: 'wrong-type',
  weight: 14,
  make: (r, n, w) => {
    const order = validOrder(r, n);
    const p = r.pick(pathsOf(order));
    const value = differentlyTyped(r, at(order, p.slice(0, -1))[p[p.length - 1]!]);
    setPath(order, p, value);
    // null reads as absent: refused only where the field is required, as a missing one is.
    const expect = value === null ? {} : { expect: [422] };
    if (r.chance(0.15)) return { method: 'POST', path: '/v1/batches?format=json', headers: jsonHeaders(w.warehouse), body: json({ orders: [order] }), ...expect };
    return { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(w.warehouse), body: json(order), ...expect };
  },
};

export const missingField: Generator = {
  name: 'missing-field',
  weight: 7,
  make: (r, n, w) => {
    const order = validOrder(r, n);
    const paths = pathsOf(order).filter((p) => p.join('.') !== 'orderId' || r.chance(0.3));
    deletePath(order, r.pick(paths));
    if (r.chance(0.3)) deletePath(order, r.pick(pathsOf(order)));
    return { method: 'POST', path: '/v1/waybills?format=json', headers: jsonHeaders(w.warehouse), body: json(order) };
  },
};

export const extraField: Generator = {
  name: 'extra-field',
  weight: 6,
  make: (r, n, w) => {
    const order = validOrder(r, n);
    const value = clone(r.pick(ODD_VALUES));
    define(at(order, r.pick(objectPaths(order))), r.pick(EVIL_KEYS), value);
    // An unknown property is refused, unless it is null, which reads as absent.
    return { method: 'POST', path: '/v1/waybills', headers: jsonHeaders(w.warehouse), body: json(order), expect: value === null ? [201] : [422] };
  },
};

export const hugeString: Generator = {
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
};

export const nastyText: Generator = {
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
};
