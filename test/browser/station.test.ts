// A parcel station's counter page in a real browser (Debian's chromium through playwright-core): a waybill
// made through the API by a warehouse key and put in a courier's hands; a station key from the key store,
// entered once (a made-up key is refused first); the arrival recorded and its pickup code read off the
// page; wrong digits answer "No match", the right ones "Match", and the hand-over makes the waybill
// delivered. The page never shows the order's names, phones or streets, loads nothing from elsewhere,
// breaks no CSP rule, shows the station's rate limit with its wait, and logout leaves no key in storage.

import path from 'node:path';
import { PassThrough } from 'node:stream';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { PICKUP_CODE } from '../../src/stations/station';
import { openServices, type Services } from '../../src/wiring';
import { describeBrowser, openBrowser, type TestBrowser } from '../support/browser';
import { expectAbsent } from '../support/expectAbsent';
import { ZT_DOMESTIC as ZT } from '../support/samples';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';

jest.setTimeout(120_000);

const sqlite = STORE_BACKENDS.find(([name]) => name === 'SQLite')![1];
type Party = { name: string; phone: string; address: { street: string; detail: string } };

// The buyer's phone, chosen so the test knows its last four digits.
const PHONE = '15867203951';
const RIGHT = '3951';
const WRONG = '3915';
const VERIFY_PER_MINUTE = 4;

/** What of a party must never show (as test/printing/noLeak.test.ts forms it): names, streets, rooms, 6-digit runs. */
function secretsOf(party: Party): string[] {
  const surname = ['欧阳', '司马'].find((s) => party.name.startsWith(s)) ?? party.name[0]!;
  const texts = [party.name, party.name.slice(surname.length), party.phone, party.address.street, party.address.detail];
  for (const line of [party.address.street, party.address.detail]) texts.push(...(line.match(/\d+\s*(?:号楼|幢|栋|单元|室|楼|弄|号)/g) ?? []));
  const digits = party.phone.replace(/\D/g, '');
  for (let i = 0; i + 6 <= digits.length; i++) texts.push(digits.slice(i, i + 6));
  return texts;
}
// Evaluated in the page (strings: this project's TypeScript has no DOM types). Everything the page shows.
const PAGE_TEXT = 'document.body.innerText';
// The only console errors the flow causes: chromium logs each refused fetch (the made-up key's 401, the
// arrival by number's 403, the rate limit's 429). Anything else (a CSP violation, a script error) fails.
const EXPECTED_REFUSAL = /^Failed to load resource: the server responded with a status of (401|403|429)\b/;

describeBrowser('the parcel station counter at /station, in chromium', () => {
  let db: TestDatabase;
  let services: Services;
  let running: RunningService;
  let admin: string;
  let warehouse: string;
  let browser: TestBrowser | undefined;
  let seq = 0;

  beforeAll(async () => {
    db = await sqlite.open();
    if (db.location.backend !== 'sqlite') throw new Error('expected SQLite');
    const env = { WAYBILL_DATA_DIR: path.dirname(db.location.file), WAYBILL_LOG_LEVEL: 'silent', WAYBILL_STATION_VERIFY_PER_MINUTE: String(VERIFY_PER_MINUTE) };
    services = await openServices(loadConfig(env), () => {});
    running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough().resume());
    admin = (await services.apiKeys.add({ name: 'ops', role: 'admin' }, new Date())).credential;
    warehouse = (await services.apiKeys.add({ name: 'acme wms', role: 'warehouse', client: 'acme' }, new Date())).credential;
  });

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
  });

  afterAll(async () => {
    await running?.shutdown();
    await services?.close();
    await db?.close();
  });

  const call = (method: string, route: string, key: string, body?: unknown) =>
    fetch(`${running.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  /** A waybill made by the warehouse, printed, and in a courier's hands (an admin posts the pickup). */
  async function pickedUp(): Promise<{ order: { recipient: Party; sender: Party }; id: string; waybillNo: string; qr: string }> {
    const order = { ...ZT, orderId: `STP-${process.pid}-${++seq}`, recipient: { ...(ZT.recipient as Party), phone: PHONE } };
    const created = await call('POST', '/v1/waybills', warehouse, order);
    expect(created.status).toBe(201);
    const { id, waybillNo, qr } = (await created.json()) as { id: string; waybillNo: string; qr: string };
    expect((await call('GET', `/v1/waybills/${id}/label?format=pdf`, warehouse)).status).toBe(200);
    expect((await call('POST', `/v1/waybills/${waybillNo}/events`, admin, { type: 'picked_up' })).status).toBe(201);
    return { order: order as unknown as { recipient: Party; sender: Party }, id, waybillNo, qr };
  }

  async function logIn(key: string): Promise<void> {
    const { page } = browser!;
    await page.fill('#key', key);
    await page.click('#enter');
    await page.locator('#work').waitFor();
  }

  it('records an arrival, tells no match from match, hands over, leaks nothing, and logout leaves no key', async () => {
    const station = 'hz-xh-0012';
    const key = (await services.apiKeys.add({ name: '西溪驿站 desk 1', role: 'station', station }, new Date())).credential;
    const parcel = await pickedUp();
    const secrets = [...secretsOf(parcel.order.recipient), ...secretsOf(parcel.order.sender)];
    expect(() => expectAbsent(JSON.stringify(parcel.order), secrets, 'the order')).toThrow(/secret #0 appears/);

    browser = await openBrowser('station-page');
    const { page } = browser;
    const served = await page.goto(`${running.url}/station/`);
    expect(served!.headers()['content-security-policy']).toMatch(/default-src 'self'/);
    await page.locator('#login').waitFor();

    // A made-up key: refused, with a message, and nothing kept.
    await page.fill('#key', 'wbk_made_up_key_0000000000000000');
    await page.click('#enter');
    await page.locator('#errors li').filter({ hasText: /refused/ }).waitFor();
    expect(await page.locator('#login').isVisible()).toBe(true);
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);

    // The station key: kept in this tab's sessionStorage and nowhere else.
    await logIn(key);
    expect(await page.locator('#errors').isVisible()).toBe(false);
    expect(await page.textContent('#who')).toBe(station);
    expect(await page.evaluate<string[]>('Object.values({ ...sessionStorage })')).toContain(key);
    expect(await page.evaluate<string>('JSON.stringify({ ...localStorage })')).not.toContain('wbk_');

    // Arrival by the waybill number alone proves nothing about where the parcel is: refused, saying why.
    await page.fill('#shelf', '3');
    await page.fill('#tier', '2');
    await page.focus('#arrivalNo');
    await page.keyboard.type(parcel.waybillNo);
    await page.keyboard.press('Enter');
    await page.locator('#errors li').waitFor();
    expect(await page.locator('#errors').innerText()).toMatch(/Scan the QR code on the parcel/);
    // The QR code's text typed as a scanner types it (then Enter), on shelf 3, tier 2.
    await page.fill('#arrivalNo', '');
    await page.keyboard.type(parcel.qr);
    await page.keyboard.press('Enter');
    await page.locator('#pickup').waitFor();
    const code = (await page.locator('#pickupCode').textContent())!.trim();
    expect(code).toMatch(PICKUP_CODE);
    expect(code).toBe('3-2-0001');
    expect((await services.stations.arrivalOf(station, parcel.id))?.pickupCode).toBe(code);
    expect(await page.locator('#pickupFor').innerText()).toContain(parcel.waybillNo);
    // Ready for the next scan.
    expect(await page.inputValue('#arrivalNo')).toBe('');
    expect(await page.evaluate<string | undefined>('document.activeElement && document.activeElement.id')).toBe('arrivalNo');
    await browser.screenshot('1-arrival');
    expectAbsent(await page.evaluate<string>(PAGE_TEXT), secrets, 'station page text (arrival)');

    // Hand-over by the pickup code: wrong digits answer no match, and the digits do not stay.
    await page.fill('#ref', code);
    await page.fill('#digits', WRONG);
    await page.click('#check');
    await page.locator('#verdict.no-match').waitFor();
    expect(await page.locator('#verdict').innerText()).toBe('No match');
    expect(await page.locator('#deliver').isVisible()).toBe(false);
    expect(await page.inputValue('#digits')).toBe('');
    expectAbsent(await page.evaluate<string>(PAGE_TEXT), secrets, 'station page text (no match)');

    await page.fill('#digits', RIGHT);
    await page.click('#check');
    await page.locator('#verdict.match').waitFor();
    expect(await page.locator('#verdict').innerText()).toBe('Match');
    expect(await page.inputValue('#digits')).toBe('');
    // The code was issued in this tab, so the number to hand over is known; the clerk checks it on the parcel.
    expect(await page.inputValue('#deliverNo')).toBe(parcel.waybillNo);
    await browser.screenshot('2-match');
    expectAbsent(await page.evaluate<string>(PAGE_TEXT), secrets, 'station page text (match)');
    // The verdict follows the language.
    await page.selectOption('#lang', 'zh');
    expect(await page.locator('#verdict').innerText()).toBe('匹配');
    expect(await page.locator('#handover').innerText()).toBe('交付（已签收）');
    await page.selectOption('#lang', 'en');

    await page.click('#handover');
    await page.locator('#done').waitFor();
    expect(await page.locator('#done').innerText()).toContain(parcel.waybillNo);
    expect(await page.locator('#deliver').isVisible()).toBe(false);
    const after = (await (await call('GET', `/v1/waybills/${parcel.waybillNo}`, warehouse)).json()) as { status: string };
    expect(after.status).toBe('delivered');
    const events = await services.store.eventsOf(parcel.id);
    expect(events.map((e) => [e.type, e.actor.split(':')[0]])).toEqual([['picked_up', 'admin'], ['arrived', 'station'], ['delivered', 'station']]);
    await browser.screenshot('3-delivered');
    expectAbsent(await page.evaluate<string>(PAGE_TEXT), secrets, 'station page text (delivered)');

    // Logout: no key anywhere in storage, back to the key form, nothing of the work left on the page.
    await page.click('#logout');
    await page.locator('#login').waitFor();
    expect(await page.evaluate<unknown[]>("[sessionStorage.getItem('waybill.station.key'), JSON.stringify({ ...sessionStorage }), JSON.stringify({ ...localStorage })]")).toEqual([
      null,
      expect.not.stringContaining('wbk_'),
      expect.not.stringContaining('wbk_'),
    ]);
    expect(await page.locator('#work').isVisible()).toBe(false);
    expect(await page.locator('#pickupCode, #verdict, #done').allTextContents()).toEqual(['', '', '']);

    expect(browser.offHost).toEqual([]);
    expect(browser.consoleErrors.filter((e) => !EXPECTED_REFUSAL.test(e))).toEqual([]);
  });

  it('shows the station’s verify limit with the seconds to wait, never as a verdict', async () => {
    const station = 'hz-limit-1';
    const key = (await services.apiKeys.add({ name: 'busy desk', role: 'station', station }, new Date())).credential;
    // The station's verifies of this minute are used up (each answers no match: nothing is held here).
    for (let i = 0; i < VERIFY_PER_MINUTE; i++) expect((await call('POST', '/v1/stations/verify', key, { pickupCode: '1-1-0001', phoneLast4: '0000' })).status).toBe(200);

    browser = await openBrowser('station-page-limit');
    const { page } = browser;
    await page.goto(`${running.url}/station/`);
    await page.locator('#login').waitFor();
    await logIn(key);
    await page.fill('#ref', '1-1-0001');
    await page.fill('#digits', '1234');
    await page.click('#check');
    await page.locator('#errors li').waitFor();
    expect(await page.locator('#errors').innerText()).toMatch(/try again in \d+ seconds/);
    expect(await page.locator('#verdict').isVisible()).toBe(false);
    expect(await page.inputValue('#digits')).toBe('');
    expect(await page.locator('#work').isVisible()).toBe(true); // still logged in
    expect(browser.offHost).toEqual([]);
    expect(browser.consoleErrors.filter((e) => !EXPECTED_REFUSAL.test(e))).toEqual([]);
  });

  it('logs a suspended station out, saying it is suspended and who lifts it', async () => {
    const station = 'hz-sweep-1';
    const key = (await services.apiKeys.add({ name: 'sweeping desk', role: 'station', station }, new Date())).credential;
    browser = await openBrowser('station-page-suspended');
    const { page } = browser;
    await page.goto(`${running.url}/station/`);
    await page.locator('#login').waitFor();
    await logIn(key);
    const at = new Date().toISOString();
    await services.stations.suspend({ stationId: station, suspendedAt: at, reason: 'test' }, { at, kind: 'station_suspended', detail: `station ${station}: test` });
    await page.fill('#ref', '1-1-0001');
    await page.fill('#digits', '1234');
    await page.click('#check');
    await page.locator('#errors li').filter({ hasText: /suspended/ }).waitFor();
    expect(await page.locator('#errors').innerText()).toMatch(/operator must reinstate it/);
    expect(await page.locator('#work').isVisible()).toBe(false);
    expect(await page.inputValue('#key')).toBe('');
    expect(browser.consoleErrors.filter((e) => !EXPECTED_REFUSAL.test(e))).toEqual([]);
  });
});
