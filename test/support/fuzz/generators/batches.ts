// Cases about batches: malformed JSON and NDJSON batches, and clients that go away mid-batch.

import { auth, json, jsonHeaders, invalidOrder, validOrder, type Generator } from '../requests';

export const batchShape: Generator = {
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
        return jsonBatch(json({ orders: [ok, { ...ok }] }), [422]); // the same order id twice: the request's own mistake
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
};

export const clientAbort: Generator = {
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
};
