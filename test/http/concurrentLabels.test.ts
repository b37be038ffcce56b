// The API under prints of one waybill at once, on a real service of either backend: parallel label
// fetches (each a recorded print) all succeed, each with its own print number; parallel creates of one
// order id give one waybill, and every other create the conflict a create after it gets.

import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { STORE_BACKENDS } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(120_000);

describe.each(STORE_BACKENDS)('%s API prints of one waybill at once', (_name, backend) => {
  let w: ApiWorld;
  beforeAll(async () => {
    w = await startApiWorld(backend, { WAYBILL_API_RATE_PER_SECOND: '10000' });
  });
  afterAll(() => stopApiWorld(w));

  const post = (orderId: string, accept = 'application/json') =>
    fetch(`${w.running.url}/v1/waybills`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.acme}`, 'content-type': 'application/json', accept },
      body: JSON.stringify({ ...ZT, orderId }),
    });

  it('answers parallel label fetches of one waybill each with a print number of its own', async () => {
    const created = await post('LABELS-1');
    expect(created.status).toBe(201);
    const { id, waybillNo } = (await created.json()) as { id: string; waybillNo: string };
    const fetches = 12;
    const responses = await Promise.all(
      Array.from({ length: fetches }, () => fetch(`${w.running.url}/v1/waybills/${id}/label?format=zpl`, { headers: { authorization: `Bearer ${w.acme}` } })),
    );
    const answers = await Promise.all(responses.map(async (r) => ({ status: r.status, printNo: r.headers.get('x-print-number'), detail: r.status === 200 ? '' : ((await r.json()) as { detail: string }).detail })));
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.map((a) => Number(a.printNo)).sort((a, b) => a - b)).toEqual(Array.from({ length: fetches }, (_, i) => i + 1));
    const trail = await w.services.audit.forWaybill(waybillNo);
    expect(trail.filter((r) => r.action === 'print' || r.action === 'reprint')).toHaveLength(fetches);
  });

  it('answers parallel creates of one order id with one waybill and the named conflict for the rest', async () => {
    const racers = 8;
    // Created on paper (a PDF label), which takes long enough for every racer to pass the route's own check.
    const responses = await Promise.all(Array.from({ length: racers }, () => post('CREATES-1', 'application/pdf')));
    const answers = await Promise.all(
      responses.map(async (r) => ({ status: r.status, location: r.headers.get('location'), body: r.status === 201 ? {} : ((await r.json()) as { detail?: string; errors?: unknown[] }) })),
    );
    const saved = answers.filter((a) => a.status === 201);
    expect(saved).toHaveLength(1);
    const id = saved[0]!.location!.split('/').pop()!;
    const refused = answers.filter((a) => a.status !== 201);
    const after = await post('CREATES-1');
    const sequential = (await after.json()) as { detail: string; errors: unknown[] };
    expect(after.status).toBe(409);
    expect(sequential.detail).toBe(`a waybill already exists for this order id: /v1/waybills/${id}`);
    expect(refused.map((a) => ({ status: a.status, detail: a.body.detail, errors: a.body.errors }))).toEqual(
      Array.from({ length: racers - 1 }, () => ({ status: 409, detail: sequential.detail, errors: sequential.errors })),
    );
  });
});
