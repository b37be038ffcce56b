// The alerts an investigator reads, over the real API on both databases: admin keys only; newest first
// in keyset pages with no duplicates or gaps; filters by kind and time; a 422 naming a bad parameter;
// an alert raised by a real print is listed without personal data; old alerts go with the sweep.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, sweepExpired, type Services } from '../../src/wiring';
import { expectAbsent } from '../support/expectAbsent';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(120_000);

const recipient = ZT.recipient as { name: string; phone: string; address: { street: string } };
const PERSONAL = [recipient.name, recipient.phone, recipient.address.street];
const DAY = 86_400_000;

interface Alert {
  id: number;
  at: string;
  kind: string;
  courierId?: string;
  detail: string;
}
interface Page {
  items: Alert[];
  next: string | null;
}

describe.each(STORE_BACKENDS)('%s alerts', (_name, backend) => {
  let t: TestDatabase;
  let dir: string;
  let services: Services;
  let running: RunningService;
  let admin: string;
  let warehouse: string;
  let printer: string;
  const now = Date.now();
  const daysAgo = (days: number) => new Date(now - days * DAY).toISOString();

  beforeAll(async () => {
    t = await backend.open();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-alerts-'));
    const env = {
      WAYBILL_DATA_DIR: t.location.backend === 'sqlite' ? path.dirname(t.location.file) : dir,
      ...(t.location.backend === 'postgres' ? { DATABASE_URL: t.location.url } : {}),
      WAYBILL_ALERT_KEEP_DAYS: '30',
    };
    services = await openServices(loadConfig(env), () => {});
    running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
    const add = async (role: 'admin' | 'warehouse' | 'printer', client?: string) =>
      (await services.apiKeys.add({ name: `${role} key`, role, ...(client ? { client } : {}) }, new Date())).credential;
    admin = await add('admin');
    warehouse = await add('warehouse', 'acme');
    printer = await add('printer', 'acme');
    // 25 alerts over 50 days, oldest first (ids grow with time, as they do when the service raises them).
    for (let i = 0; i < 25; i++) {
      const kind = i % 5 === 0 ? 'station_verify_locked' : 'courier_suspended';
      await services.store.recordAlert({ at: daysAgo(50 - 2 * i), kind, ...(kind === 'courier_suspended' ? { courierId: `c${i}` } : {}), detail: `case ${i}` });
    }
  });
  afterAll(async () => {
    await running.shutdown();
    await services.close();
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (query: string, key = admin) => fetch(`${running.url}/v1/alerts${query}`, { headers: { authorization: `Bearer ${key}` } });
  const page = async (query: string): Promise<Page> => {
    const res = await get(query);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    return (await res.json()) as Page;
  };
  const everyPage = async (query: string) => {
    const items: Alert[] = [];
    let pages = 0;
    for (let next: string | null = ''; next !== null && pages < 50; pages++) {
      const p: Page = await page(`?${query}${next ? `&cursor=${next}` : ''}`);
      items.push(...p.items);
      next = p.next;
    }
    return { items, pages };
  };

  it('is for admin keys only', async () => {
    for (const key of [warehouse, printer]) expect((await get('', key)).status).toBe(403);
    expect((await fetch(`${running.url}/v1/alerts`)).status).toBe(401);
  });

  it('lists every alert once, newest first, a page at a time', async () => {
    const { items, pages } = await everyPage('limit=7');
    expect(pages).toBe(4);
    expect(items.map((a) => a.detail)).toEqual(Array.from({ length: 25 }, (_, i) => `case ${24 - i}`));
    expect(new Set(items.map((a) => a.id)).size).toBe(25);
    expect(items[0]).toEqual({ id: expect.any(Number), at: daysAgo(2), kind: 'courier_suspended', courierId: 'c24', detail: 'case 24' });
    expect(items[4]).not.toHaveProperty('courierId');
  });

  it('filters by kind and by time, and pages under a filter', async () => {
    const locked = await everyPage('kind=station_verify_locked&limit=2');
    expect(locked.items.map((a) => a.detail)).toEqual(['case 20', 'case 15', 'case 10', 'case 5', 'case 0']);
    // from inclusive, to exclusive: cases 10 (30 days ago) to 14 (22 days ago).
    const window = await everyPage(`from=${daysAgo(30)}&to=${daysAgo(20)}`);
    expect(window.items.map((a) => a.detail)).toEqual(['case 14', 'case 13', 'case 12', 'case 11', 'case 10']);
    expect((await page('?kind=webhook_disabled')).items).toEqual([]);
  });

  it('names a bad parameter with a 422', async () => {
    for (const [query, at] of [
      ['limit=0', 'query.limit'],
      ['limit=501', 'query.limit'],
      ['limit=1e1', 'query.limit'],
      ['cursor=07', 'query.cursor'],
      ['cursor=abc', 'query.cursor'],
      ['kind=Courier', 'query.kind'],
      ['kind=courier_suspend', 'query.kind'], // no such kind: a typo would otherwise list nothing, as if all were well
      ['from=yesterday', 'query.from'],
      ['to=9999-12-31T23:59:59-23:59', 'query.to'], // past year 9999 in UTC: it would sort before every time
      ['courier=c1', 'query'],
    ]) {
      const res = await get(`?${query}`);
      expect([query, res.status]).toEqual([query, 422]);
      const body = (await res.json()) as { errors: { path: string }[] };
      expect(body.errors.map((e) => e.path)).toContain(at);
    }
  });

  it('lists the alert a print raised, without personal data', async () => {
    // A client waybill number sharing six digits with the recipient's phone prints, and alerts.
    const six = recipient.phone.replace(/\D/g, '').slice(-11).slice(3, 9);
    const waybillNo = `7812${six}0000`;
    const created = await fetch(`${running.url}/v1/waybills`, {
      method: 'POST',
      headers: { authorization: `Bearer ${warehouse}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...ZT, orderId: `ALERT-${process.pid}`, waybillNo }),
    });
    expect(created.status).toBe(201);
    const res = await get('?kind=waybill_no_phone_digits');
    const text = await res.text();
    const listed = (JSON.parse(text) as Page).items;
    expect(listed).toEqual([expect.objectContaining({ kind: 'waybill_no_phone_digits', detail: expect.stringContaining(`waybill ${waybillNo} of client acme`) })]);
    expectAbsent(text, PERSONAL, 'the alert list');
  });

  it('records a once-a-day alert once, also when two instances raise it at the same moment', async () => {
    const { courier } = await services.couriers.add({ carrier: 'ZT', name: 'courier', outlet: 'HZ-1', routes: [], device: 'HH-1' }, new Date());
    const other = await t.reopen();
    const alert = { at: new Date().toISOString(), kind: 'courier_daily_limit' as const, courierId: courier.id, detail: 'daily limit' };
    const since = daysAgo(1);
    const recorded = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? other.store : services.store).recordAlert(alert, since)));
    expect(recorded.filter(Boolean)).toHaveLength(1);
    expect((await page('?kind=courier_daily_limit')).items.map((a) => a.courierId)).toEqual([courier.id]);
  });

  it('forgets alerts older than WAYBILL_ALERT_KEEP_DAYS in the sweep', async () => {
    const swept = await sweepExpired(services, () => new Date(now));
    // 30 days kept: cases 0 to 9 (50 to 32 days ago) go; case 10, exactly 30 days old, and newer stay.
    expect(swept.alertsForgotten).toBe(10);
    const { items } = await everyPage('kind=courier_suspended');
    expect(items.at(-1)!.detail).toBe('case 11');
    expect((await everyPage('kind=station_verify_locked')).items.map((a) => a.detail)).toEqual(['case 20', 'case 15', 'case 10']);
  });
});
