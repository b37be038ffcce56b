// Finding and following waybills over the real API on both databases: search filters, keyset pages
// with no duplicates or gaps, client scoping (admins with `client`), 422s naming the parameter; the
// history of a waybill (created, prints, events, actors as role and id, no personal data); labels named
// as attachments; the batch resource of a PDF batch; the template list.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import { expectAbsent } from '../support/expectAbsent';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..', '..');
const PERSONAL = [
  (ZT.recipient as { name: string }).name,
  (ZT.recipient as { phone: string }).phone,
  (ZT.sender as { name: string }).name,
  (ZT.recipient as { address: { street: string } }).address.street,
];

interface Summary {
  id: string;
  waybillNo: string;
  orderId: string;
  client?: string;
  carrier: string;
  status: string;
  createdAt: string;
  links: Record<string, string>;
}
interface Page {
  items: Summary[];
  next: string | null;
}

let seq = 0;
const orderId = (tag: string) => `${tag}-${process.pid}-${++seq}`;

describe.each(STORE_BACKENDS)('%s search, history, batches, templates', (_name, backend) => {
  let t: TestDatabase;
  let dir: string;
  let services: Services;
  let running: RunningService;
  let keys: Record<'admin' | 'acme' | 'acmePrinter' | 'other', string>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await backend.open();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-search-'));
    const env = {
      WAYBILL_DATA_DIR: t.location.backend === 'sqlite' ? path.dirname(t.location.file) : dir,
      ...(t.location.backend === 'postgres' ? { DATABASE_URL: t.location.url } : {}),
    };
    services = await openServices(loadConfig(env), () => {});
    running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
    const add = async (tag: string, name: string, role: 'admin' | 'warehouse' | 'printer', client?: string) => {
      const made = await services.apiKeys.add({ name, role, ...(client ? { client } : {}) }, new Date());
      ids[tag] = made.key.id;
      return made.credential;
    };
    keys = {
      admin: await add('admin', 'ops', 'admin'),
      acme: await add('acme', 'acme wms', 'warehouse', 'acme'),
      acmePrinter: await add('acmePrinter', 'acme line', 'printer', 'acme'),
      other: await add('other', 'other wms', 'warehouse', 'other'),
    };
  });
  afterAll(async () => {
    await running.shutdown();
    await services.close();
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = (method: string, route: string, key: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${running.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const create = async (key: string, id = orderId('S')) => {
    const res = await call('POST', '/v1/waybills', key, { ...ZT, orderId: id });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; waybillNo: string; orderId: string };
  };
  const search = async (key: string, query: string): Promise<Page> => {
    const res = await call('GET', `/v1/waybills?${query}`, key);
    expect(res.status).toBe(200);
    return (await res.json()) as Page;
  };
  const problem = async (key: string, query: string) => {
    const res = await call('GET', `/v1/waybills?${query}`, key);
    expect(res.status).toBe(422);
    return ((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path);
  };
  /** Every page of a search, following `next`. */
  const allPages = async (key: string, query: string): Promise<{ pages: number; items: Summary[] }> => {
    const items: Summary[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await search(key, `${query}${cursor ? `&cursor=${cursor}` : ''}`);
      items.push(...page.items);
      cursor = page.next;
      pages++;
    } while (cursor && pages < 50);
    return { pages, items };
  };
  const newestFirst = (a: Summary, b: Summary) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1);

  describe('search', () => {
    let acme: Awaited<ReturnType<typeof create>>[];
    let otherOne: Awaited<ReturnType<typeof create>>;
    let batchIds: string[];

    beforeAll(async () => {
      acme = [];
      for (let i = 0; i < 4; i++) acme.push(await create(keys.acme));
      otherOne = await create(keys.other);
      // A PDF batch: five waybills saved at one time, so the id breaks the ties; on paper, so printed.
      const batch = await call('POST', '/v1/batches?template=cn-1ply-76x130', keys.acme, { orders: [0, 1, 2, 3, 4].map(() => ({ ...ZT, orderId: orderId('B') })) });
      expect(batch.status).toBe(201);
      await batch.arrayBuffer();
      const link = /^<\/v1\/batches\/([0-9a-f-]{36})>; rel="batch"$/.exec(batch.headers.get('link')!)!;
      const saved = (await (await call('GET', `/v1/batches/${link[1]}`, keys.acme)).json()) as { items: { waybillId: string }[] };
      batchIds = saved.items.map((i) => i.waybillId);
    });

    it('finds by order id and by waybill number, within the client', async () => {
      const one = await search(keys.acme, `orderId=${acme[1]!.orderId}`);
      expect(one).toEqual({ items: [expect.objectContaining({ id: acme[1]!.id, waybillNo: acme[1]!.waybillNo, orderId: acme[1]!.orderId, client: 'acme', carrier: 'ZT', status: 'created' })], next: null });
      expect(one.items[0]!.links).toEqual({ self: `/v1/waybills/${acme[1]!.id}`, label: `/v1/waybills/${acme[1]!.id}/label`, print: `/v1/waybills/${acme[1]!.id}/print`, events: `/v1/waybills/${acme[1]!.id}/events` });
      expect(Object.keys(one.items[0]!).sort()).toEqual(['carrier', 'client', 'createdAt', 'id', 'links', 'orderId', 'status', 'waybillNo']);
      expect((await search(keys.acme, `waybillNo=${acme[2]!.waybillNo}`)).items.map((i) => i.id)).toEqual([acme[2]!.id]);
      expect((await search(keys.acmePrinter, `waybillNo=${acme[2]!.waybillNo}`)).items.map((i) => i.id)).toEqual([acme[2]!.id]);
      // Another client's waybill is never found by a key, whatever the filter.
      expect((await search(keys.acme, `orderId=${otherOne.orderId}`)).items).toEqual([]);
      expect((await search(keys.acme, `waybillNo=${otherOne.waybillNo}`)).items).toEqual([]);
      expect((await search(keys.other, `orderId=${acme[0]!.orderId}`)).items).toEqual([]);
    });

    it('filters by status and by creation time', async () => {
      const printed = await search(keys.acme, 'status=printed&limit=200');
      expect(printed.items.map((i) => i.id).sort()).toEqual([...batchIds].sort());
      const created = await search(keys.acme, 'status=created&limit=200');
      expect(created.items.map((i) => i.id)).toEqual([...acme].reverse().map((a) => a.id));
      const all = (await search(keys.acme, 'limit=200')).items;
      const t0 = all.find((i) => i.id === acme[1]!.id)!.createdAt;
      const t1 = new Date(new Date(t0).getTime() + 1).toISOString();
      const window = await search(keys.acme, `createdFrom=${encodeURIComponent(t0)}&createdTo=${encodeURIComponent(t1)}`);
      expect(window.items.map((i) => i.id)).toContain(acme[1]!.id);
      expect(window.items.every((i) => i.createdAt === t0)).toBe(true);
      expect((await search(keys.acme, `status=printed&createdTo=${encodeURIComponent(t0)}`)).items).toEqual([]);
      expect((await search(keys.acme, 'createdFrom=2000-01-01&createdTo=2000-01-02')).items).toEqual([]);
    });

    it('pages newest first with the cursor: every waybill once, none missing, same as one big page', async () => {
      const whole = (await search(keys.acme, 'limit=200')).items;
      expect(whole).toHaveLength(9);
      expect([...whole].sort(newestFirst).map((i) => i.id)).toEqual(whole.map((i) => i.id));
      const paged = await allPages(keys.acme, 'limit=2');
      expect(paged.pages).toBe(5);
      expect(paged.items.map((i) => i.id)).toEqual(whole.map((i) => i.id));
      expect(new Set(paged.items.map((i) => i.id)).size).toBe(9);
      // Pages of a filtered search, where a page boundary falls inside the batch's shared time.
      const printed = await allPages(keys.acme, 'status=printed&limit=2');
      expect(printed.items.map((i) => i.id)).toEqual((await search(keys.acme, 'status=printed')).items.map((i) => i.id));
      expect(printed.pages).toBe(3);
    });

    it('lets admins see every client, or one with `client`; a key naming another client is refused', async () => {
      const everything = (await search(keys.admin, 'limit=200')).items;
      expect(everything.map((i) => i.client)).toEqual(expect.arrayContaining(['acme', 'other']));
      expect((await search(keys.admin, 'client=other&limit=200')).items.map((i) => i.id)).toEqual([otherOne.id]);
      expect((await search(keys.admin, `orderId=${acme[3]!.orderId}`)).items.map((i) => i.id)).toEqual([acme[3]!.id]);
      expect(await problem(keys.acme, 'client=other')).toEqual(['query.client']);
      expect((await search(keys.acme, 'client=acme&limit=200')).items).toHaveLength(9);
      expect((await search(keys.other, 'limit=200')).items.map((i) => i.id)).toEqual([otherOne.id]);
    });

    it('answers 422 naming the bad parameter', async () => {
      expect(await problem(keys.acme, 'limit=0')).toEqual(['query.limit']);
      expect(await problem(keys.acme, 'limit=201')).toEqual(['query.limit']);
      expect(await problem(keys.acme, 'limit=ten')).toEqual(['query.limit']);
      for (const odd of ['0x10', '1e1', '%205', '5.0', '+5', '99999999999999999999']) expect({ odd, paths: await problem(keys.acme, `limit=${odd}`) }).toEqual({ odd, paths: ['query.limit'] });
      expect(await problem(keys.acme, 'status=lost')).toEqual(['query.status']);
      expect(await problem(keys.acme, 'createdFrom=yesterday')).toEqual(['query.createdFrom']);
      expect(await problem(keys.acme, 'createdTo=2026-13-01')).toEqual(['query.createdTo']);
      expect(await problem(keys.acme, 'waybillNo=abc')).toEqual(['query.waybillNo']);
      expect(await problem(keys.acme, 'cursor=not-a-cursor')).toEqual(['query.cursor']);
      expect(await problem(keys.acme, `cursor=${Buffer.from('["x","y"]').toString('base64url')}`)).toEqual(['query.cursor']);
      // A cursor as given out, with something after it, is not one.
      const given = Buffer.from(JSON.stringify(['2026-12-01T00:00:00.000Z', '0193a9b2-1111-7000-8000-000000000000'])).toString('base64url');
      expect((await call('GET', `/v1/waybills?cursor=${given}`, keys.acme)).status).toBe(200);
      for (const tail of ['=', '==', '%00']) expect({ tail, paths: await problem(keys.acme, `cursor=${given}${tail}`) }).toEqual({ tail, paths: ['query.cursor'] });
      expect(await problem(keys.acme, 'orderId=a&orderId=b')).toEqual(['query.orderId']);
      const unknown = await call('GET', '/v1/waybills?order=1', keys.acme);
      expect(unknown.status).toBe(422);
      expect((await call('GET', '/v1/waybills', 'wbk_nope')).status).toBe(401);
    });
  });

  describe('history', () => {
    it('lists created, prints and events with actor role and id, without personal data or a correction reason', async () => {
      const w = await create(keys.acme);
      expect((await call('GET', `/v1/waybills/${w.id}/label?format=pdf`, keys.acme)).status).toBe(200);
      expect((await call('GET', `/v1/waybills/${w.id}/label?format=zpl`, keys.acmePrinter)).status).toBe(200);
      expect((await call('POST', `/v1/waybills/${w.waybillNo}/events`, keys.admin, { type: 'assigned', outlet: 'HZ-XH01' })).status).toBe(201);
      expect((await call('POST', `/v1/waybills/${w.waybillNo}/events`, keys.acme, { type: 'cancelled' })).status).toBe(201);
      const reason = '客户张三来电 13800138000';
      expect((await call('POST', `/v1/waybills/${w.waybillNo}/events`, keys.admin, { type: 'correction', status: 'printed', reason })).status).toBe(201);

      const res = await call('GET', `/v1/waybills/${w.waybillNo}/events`, keys.acme);
      expect(res.status).toBe(200);
      const text = await res.text();
      expectAbsent(text, [...PERSONAL, reason, '张三', '13800138000'], 'history');
      const history = JSON.parse(text) as { waybillId: string; waybillNo: string; status: string; events: { type: string; at: string; actor?: { role: string; id?: string }; printNo?: number; outlet?: string; from?: string }[] };
      expect(history).toMatchObject({ waybillId: w.id, waybillNo: w.waybillNo, status: 'printed' });
      expect(history.events.map((e) => e.type)).toEqual(['created', 'printed', 'printed', 'assigned', 'cancelled', 'correction']);
      expect(history.events[1]).toMatchObject({ printNo: 1, actor: { role: 'warehouse', id: ids.acme } });
      expect(history.events[2]).toMatchObject({ printNo: 2, actor: { role: 'printer', id: ids.acmePrinter } });
      expect(history.events[3]).toMatchObject({ outlet: 'HZ-XH01', actor: { role: 'admin', id: ids.admin } });
      expect(history.events[4]).toMatchObject({ actor: { role: 'warehouse', id: ids.acme } });
      expect(history.events[5]).toEqual({ type: 'correction', at: expect.any(String), from: 'cancelled', actor: { role: 'admin', id: ids.admin } });
      expect([...history.events.map((e) => e.at)].sort()).toEqual(history.events.map((e) => e.at));
      // By id too, for admins; another client gets "not found".
      expect((await call('GET', `/v1/waybills/${w.id}/events`, keys.admin)).status).toBe(200);
      expect((await call('GET', `/v1/waybills/${w.id}/events`, keys.other)).status).toBe(404);
    });
  });

  describe('answers', () => {
    it('names labels as attachments by waybill number, with Waybill-No', async () => {
      const w = await create(keys.acme);
      for (const format of ['pdf', 'zpl', 'tspl', 'cpcl', 'png']) {
        const res = await call('GET', `/v1/waybills/${w.id}/label?format=${format}&template=cn-1ply-76x130`, keys.acme);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${w.waybillNo}.${format}"`);
        expect(res.headers.get('waybill-no')).toBe(w.waybillNo);
      }
      const view = await call('GET', `/v1/waybills/${w.id}/label?format=json`, keys.acme);
      await view.arrayBuffer();
      expect(view.headers.get('content-disposition')).toBeNull();
      expect(view.headers.get('waybill-no')).toBe(w.waybillNo);

      // A create answered as a label, and its idempotent replay.
      const body = { ...ZT, orderId: orderId('L') };
      const headers = { accept: 'application/pdf', 'idempotency-key': `k-${process.pid}-${seq}-label` };
      const first = await call('POST', '/v1/waybills', keys.acme, body, headers);
      expect(first.status).toBe(201);
      await first.arrayBuffer();
      const no = first.headers.get('waybill-no')!;
      expect(no).toMatch(/^[A-Z0-9]{6,30}$/);
      expect(first.headers.get('content-disposition')).toBe(`attachment; filename="${no}.pdf"`);
      const again = await call('POST', '/v1/waybills', keys.acme, body, headers);
      await again.arrayBuffer();
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('content-disposition')).toBe(`attachment; filename="${no}.pdf"`);
      expect(again.headers.get('waybill-no')).toBe(no);
    });

    it('makes a PDF batch a resource named in Link: order index → waybill id and number, client-scoped', async () => {
      const gift = { parcel: { ...(ZT.parcel as object), contents: '服装🎁' } }; // the font has no emoji
      const orders = [0, 1, 2].map((i) => ({ ...ZT, ...(i === 1 ? gift : {}), orderId: orderId('BR') }));
      const res = await call('POST', '/v1/batches?template=cn-1ply-76x130', keys.acme, { orders });
      expect(res.status).toBe(201);
      await res.arrayBuffer();
      const id = /^<\/v1\/batches\/([0-9a-f-]{36})>; rel="batch"$/.exec(res.headers.get('link')!)![1]!;
      const got = await call('GET', `/v1/batches/${id}`, keys.acme);
      expect(got.status).toBe(200);
      const batch = (await got.json()) as { id: string; status: string; count: number; createdAt: string; items: { index: number; orderId: string; waybillId: string; waybillNo: string; warnings?: string[] }[] };
      expect(batch).toMatchObject({ id, status: 'done', count: 3 });
      expect(batch.items.map((i) => [i.index, i.orderId])).toEqual(orders.map((o, i) => [i, o.orderId]));
      // What a label could not draw, kept with the item it is of.
      expect(batch.items.map((i) => i.warnings)).toEqual([undefined, ['courier copy: parcel.contents has 1 character(s) the font cannot draw'], undefined]);
      for (const item of batch.items) {
        const found = await search(keys.acme, `orderId=${item.orderId}`);
        expect(found.items.map((f) => [f.id, f.waybillNo])).toEqual([[item.waybillId, item.waybillNo]]);
      }
      expect((await call('GET', `/v1/batches/${id}`, keys.admin)).status).toBe(200);
      expect((await call('GET', `/v1/batches/${id}`, keys.other)).status).toBe(404);
      expect((await call('GET', '/v1/batches/00000000-0000-4000-8000-000000000000', keys.acme)).status).toBe(404);
      // A JSON batch carries the map itself: no resource.
      const json = await call('POST', '/v1/batches', keys.acme, { orders: [{ ...ZT, orderId: orderId('BJ') }] }, { accept: 'application/json' });
      expect(json.status).toBe(201);
      await json.arrayBuffer();
      expect(json.headers.get('link')).toBeNull();
      // A printer-language batch is one too.
      const zpl = await call('POST', '/v1/batches?format=zpl&template=cn-1ply-76x130', keys.acme, { orders: [{ ...ZT, orderId: orderId('BZ') }] });
      await zpl.arrayBuffer();
      const zplId = /<\/v1\/batches\/([0-9a-f-]{36})>/.exec(zpl.headers.get('link')!)![1]!;
      expect(((await (await call('GET', `/v1/batches/${zplId}`, keys.acmePrinter)).json()) as { count: number }).count).toBe(1);
    });

    it('lists the templates with size, copies and dpi', async () => {
      const res = await call('GET', '/v1/templates', keys.acmePrinter);
      expect(res.status).toBe(200);
      const { items } = (await res.json()) as { items: { id: string; name: string; lang: string; size: { widthMm: number; heightMm: number }; labels: number; copies: string[]; dpi: number; default: boolean }[] };
      const ids = fs.readdirSync(path.join(ROOT, 'templates')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
      expect(items.map((i) => i.id)).toEqual(ids);
      expect(items.find((i) => i.id === 'cn-2ply-100x150')).toMatchObject({ lang: 'zh', size: { widthMm: 100, heightMm: 150 }, labels: 1, copies: ['courier', 'recipient'], dpi: 203 });
      expect(items.filter((i) => i.default)).toHaveLength(1);
      expect((await fetch(`${running.url}/v1/templates`)).status).toBe(401);
      // Documented, beside the operations other blocks give the same paths.
      const doc = (await (await fetch(`${running.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      expect(Object.keys(doc.paths['/v1/waybills']!)).toEqual(expect.arrayContaining(['get', 'post']));
      expect(Object.keys(doc.paths['/v1/waybills/{id}/events']!)).toEqual(expect.arrayContaining(['get', 'post']));
      expect(doc.paths['/v1/batches/{id}']!.get).toBeDefined();
      expect(doc.paths['/v1/templates']!.get).toBeDefined();
    });
  });
});
