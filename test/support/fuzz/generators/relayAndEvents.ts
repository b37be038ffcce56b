// Cases about the bodies of the telephony relay and of waybill events.

import { EVIL_KEYS, ODD_VALUES } from '../hostileValues';
import { clone, define, type Json, type Obj } from '../jsonPaths';
import { json, jsonHeaders, type Generator } from '../requests';

export const relayBody: Generator = {
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
};

export const eventBody: Generator = {
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
};
