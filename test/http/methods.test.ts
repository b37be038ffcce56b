// A path the service serves, asked with a method it does not serve there, is answered 405 with the
// methods it does serve (`Allow`), not 404 as if it were not there; OPTIONS answers 204 with them. The
// table is the OpenAPI document's, which lists every route.

import { allowedMethods } from '../../src/http/methodTable';
import { openApiDocument } from '../../src/http/openapi';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { STORE_BACKENDS } from '../support/storeBackends';

const sqlite = STORE_BACKENDS.find(([name]) => name === 'SQLite')![1];

describe('methods a path is not served with', () => {
  let w: ApiWorld;
  beforeAll(async () => {
    w = await startApiWorld(sqlite);
  });
  afterAll(() => stopApiWorld(w));

  const call = (method: string, route: string) => fetch(`${w.running.url}${route}`, { method, headers: { authorization: `Bearer ${w.acme}` } });

  it.each([
    ['PUT', '/v1/waybills', 'POST, GET'],
    ['DELETE', '/v1/waybills/ZT0000000000001', 'GET'],
    ['PATCH', '/v1/waybills/ZT0000000000001/events', 'POST, GET'],
    ['GET', '/v1/batches', 'POST'],
    ['POST', '/healthz', 'GET'],
    ['PROPFIND', '/v1/templates', 'GET'],
  ])('%s %s: 405, Allow: %s, as problem+json', async (method, route, allow) => {
    const res = await call(method, route);
    expect([res.status, res.headers.get('allow'), res.headers.get('content-type')]).toEqual([405, allow, expect.stringMatching(/^application\/problem\+json/)]);
    expect(await res.json()).toMatchObject({ status: 405, requestId: res.headers.get('x-request-id') });
  });

  it('answers HEAD on the API with the methods of the path', async () => {
    expect([(await call('HEAD', '/v1/batches')).headers.get('allow'), (await call('HEAD', '/v1/waybills')).headers.get('allow')]).toEqual(['POST', 'POST, GET']);
  });

  it('answers OPTIONS with 204 and the methods, and an unknown path with 404 whatever the method', async () => {
    const options = await call('OPTIONS', '/v1/waybills/ZT0000000000001/events');
    expect([options.status, options.headers.get('allow'), await options.text()]).toEqual([204, 'POST, GET, OPTIONS', '']);
    for (const method of ['OPTIONS', 'PUT', 'GET']) expect([method, (await call(method, '/v1/no-such-thing')).status]).toEqual([method, 404]);
  });

  it('takes its table from the document: every documented operation is allowed on its path', () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
    const allowed = allowedMethods(doc.paths);
    for (const [template, operations] of Object.entries(doc.paths)) {
      const path = template.replace(/\{[^}]+\}/g, 'x1');
      expect([template, allowed(path)]).toEqual([template, expect.arrayContaining(Object.keys(operations).map((m) => m.toUpperCase()))]);
    }
    expect(allowed('/v1/waybills/a/b/c')).toBeUndefined();
  });
});
