// An idempotent create whose process dies just after saving its waybill: the client never got the answer
// and retries with the same Idempotency-Key. The retry must get that first answer (the waybill saved, its
// label print 1), not a 409 for an order id it never saw answered, with the label then only as a reprint.
// The save keeps the answer in its own transaction, so no moment between the two is left for a crash.

import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { pdfText } from '../support/pdfProbe';
import { STORE_BACKENDS } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';
import fs from 'node:fs';
import path from 'node:path';

jest.setTimeout(60_000);

describe.each(STORE_BACKENDS)('%s: an idempotent create killed after its save', (_name, backend) => {
  let w: ApiWorld;
  beforeAll(async () => {
    w = await startApiWorld(backend, { WAYBILL_RELAY_NUMBERS: '+8617000001234/4' });
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await stopApiWorld(w);
  });

  const post = (body: unknown, key: string, accept: string, signal?: AbortSignal) =>
    fetch(`${w.running.url}/v1/waybills`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.acme}`, 'content-type': 'application/json', 'idempotency-key': key, accept },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });

  it.each([
    ['application/pdf', 'pdf'],
    ['application/json', 'json'],
  ])('answers the retry (%s) with the answer the save kept', async (accept, format) => {
    const order = { ...ZT, orderId: `IC-${process.pid}-${format}` };
    const key = `crash-${format}-0001`;
    // The process "dies" once the save has committed: nothing after it runs (no answer sent, nothing stored).
    let saved!: () => void;
    const committed = new Promise<void>((resolve) => (saved = resolve));
    const save = w.services.store.savePrintJob.bind(w.services.store);
    jest.spyOn(w.services.store, 'savePrintJob').mockImplementationOnce(async (...args) => {
      await save(...args);
      saved();
      await new Promise(() => {}); // never returns
    });
    const client = new AbortController();
    const first = post(order, key, accept, client.signal).catch(() => 'lost');
    await committed;
    client.abort();
    expect(await first).toBe('lost');
    // A dead process's claim is taken over after a minute: the claim is made that old.
    const aged = await w.t.query('UPDATE idempotency_keys SET created_at = ? WHERE key = ? RETURNING key', new Date(Date.now() - 120_000).toISOString(), key);
    expect(aged).toHaveLength(1);

    const retry = await post(order, key, accept);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const saved1 = (await w.services.store.findWaybillByClientOrder('acme', order.orderId))!;
    expect(retry.headers.get('location')).toBe(`/v1/waybills/${saved1.id}`);
    expect(retry.headers.get('waybill-no')).toBe(saved1.waybillNo);
    const body = Buffer.from(await retry.arrayBuffer());
    if (format === 'pdf') {
      const file = path.join(w.dir, 'retry.pdf');
      fs.writeFileSync(file, body);
      expect(await pdfText(file)).not.toMatch(/重印/); // the first paper, not a reprint
    } else {
      expect(JSON.parse(body.toString('utf8'))).toMatchObject({ id: saved1.id, waybillNo: saved1.waybillNo });
    }
    expect((await w.services.audit.forWaybill(saved1.waybillNo)).map((r) => `${r.action} ${r.outcome}`)).toEqual([format === 'pdf' ? 'print ok' : 'create ok', 'print replayed']);
  });
});
