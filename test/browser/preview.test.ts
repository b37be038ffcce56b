// The operator's preview page in a real browser (Debian's chromium through playwright-core): a warehouse
// key made by the CLI, entered once; the sample order pasted; cn-4copy as PDF (the inline frame) and as
// PNG (images the browser decodes, and whose bytes are a real label bitmap); the per-copy field list with
// masked names. The page's visible text passes the no-leak check, no CSP violation or off-host request
// happens, logout leaves no key in storage, and the store keeps every row (nothing was created).

import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { main } from '../../src/cli';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import { describeBrowser, openBrowser, type TestBrowser } from '../support/browser';
import { expectAbsent } from '../support/expectAbsent';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';

jest.setTimeout(120_000);

const ORDER_FILE = path.join(__dirname, '..', '..', 'samples', 'order.json');
const ORDER = JSON.parse(fs.readFileSync(ORDER_FILE, 'utf8'));
const sqlite = STORE_BACKENDS.find(([name]) => name === 'SQLite')![1];

/** What of a party must never show (as test/printing/noLeak.test.ts forms it): names, streets, rooms, 6-digit runs. */
function secretsOf(party: { name: string; phone: string; address: { street: string; detail: string } }): string[] {
  const surname = ['欧阳', '司马'].find((s) => party.name.startsWith(s)) ?? party.name[0]!;
  const texts = [party.name, party.name.slice(surname.length), party.address.street, party.address.detail];
  for (const line of [party.address.street, party.address.detail]) texts.push(...(line.match(/\d+\s*(?:号楼|幢|栋|单元|室|楼|弄|号)/g) ?? []));
  const digits = party.phone.replace(/\D/g, '');
  for (let i = 0; i + 6 <= digits.length; i++) texts.push(digits.slice(i, i + 6));
  return texts;
}
// Evaluated in the page (strings: this project's TypeScript has no DOM types). Everything the page shows.
const PAGE_TEXT = 'document.body.innerText';
const SECRETS = [...secretsOf(ORDER.recipient), ...secretsOf(ORDER.sender)];

it('the no-leak check sees the sample order itself', () => {
  expect(() => expectAbsent(JSON.stringify(ORDER), SECRETS, 'the order')).toThrow(/secret #0 appears/);
});

async function waitFor(done: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !done(); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > end) throw new Error('timed out');
}

describeBrowser('the operator preview page at /preview, in chromium', () => {
  let db: TestDatabase;
  let services: Services;
  let running: RunningService;
  let key: string;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    db = await sqlite.open();
    if (db.location.backend !== 'sqlite') throw new Error('expected SQLite');
    const env = { WAYBILL_DATA_DIR: path.dirname(db.location.file), WAYBILL_LOG_LEVEL: 'silent' };
    const lines: string[] = [];
    expect(await main(['keys', 'create', '--role', 'warehouse', '--name', 'acme wms', '--client', 'acme'], (l) => lines.push(l), env)).toBe(0);
    key = /(wbk_\S+)/.exec(lines.join('\n'))![1]!;
    services = await openServices(loadConfig(env), () => {});
    running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough().resume());
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

  async function rowCounts(): Promise<Record<string, number>> {
    const tables = (await db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"))
      .map((r) => String(r.name))
      .filter((t) => !/bucket/.test(t)); // the per-key request budget moves on any request
    const counts: Record<string, number> = {};
    for (const t of tables) counts[t] = Number((await db.query(`SELECT COUNT(*) AS n FROM ${t}`))[0]!.n);
    return counts;
  }

  it('renders the sample as PDF and PNG with masked fields, leaks nothing, and logout leaves no key', async () => {
    const before = await rowCounts();
    browser = await openBrowser('preview-page');
    const { page } = browser;
    const answers: { url: string; status: number; type: string; body: Buffer }[] = [];
    // The API answers as the page received them, through the browser (bodies read off the wire).
    await page.route('**/v1/previews**', async (route) => {
      const r = await route.fetch();
      answers.push({ url: route.request().url(), status: r.status(), type: r.headers()['content-type'] ?? '', body: await r.body() });
      await route.fulfill({ response: r });
    });

    const served = await page.goto(`${running.url}/preview`);
    expect(served!.headers()['content-security-policy']).toMatch(/default-src 'self'/);
    await page.locator('#login').waitFor();
    await page.fill('#key', key);
    await page.click('#enter');
    await page.locator('#work').waitFor();
    expect(await page.locator('#login').isVisible()).toBe(false);
    expect(await page.locator('#template option').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^cn-4copy /)]));
    // The key is in this tab's sessionStorage and nowhere else.
    expect(await page.evaluate<string[]>('Object.values({ ...sessionStorage })')).toContain(key);
    expect(await page.evaluate<number>('localStorage.length')).toBe(0);

    await page.fill('#order', fs.readFileSync(ORDER_FILE, 'utf8'));
    await page.selectOption('#template', 'cn-4copy');
    await page.selectOption('#format', 'pdf');
    await page.click('#render');
    const frame = page.locator('#labels iframe#pdf');
    await frame.waitFor();
    expect(await frame.getAttribute('src')).toMatch(/^blob:/);
    await page.locator('#status').filter({ hasText: /1/ }).waitFor();
    await waitFor(() => answers.some((a) => /format=pdf/.test(a.url)));
    const pdf = answers.find((a) => /format=pdf/.test(a.url))!;
    expect([pdf.status, pdf.type, pdf.body.subarray(0, 5).toString('latin1')]).toEqual([200, 'application/pdf', '%PDF-']);
    // Four copies, each with its field list; the recipient's name as printed: masked.
    expect(await page.locator('#fields table.copy').count()).toBe(4);
    const shown = await page.locator('#fields').innerText();
    expect(shown).toContain('欧阳**');
    await page.waitForTimeout(500); // let the PDF viewer draw for the screenshot
    await browser.screenshot('1-pdf');
    expectAbsent(await page.evaluate<string>(PAGE_TEXT), SECRETS, 'preview page text (PDF)');

    await page.selectOption('#format', 'png');
    await page.selectOption('#dpi', '203');
    await page.click('#render');
    const img = page.locator('#labels img.label');
    await img.first().waitFor();
    await page.waitForFunction("[...document.querySelectorAll('#labels img.label')].every((i) => i.complete && i.naturalWidth > 0)");
    expect(await img.count()).toBe(1);
    expect(await img.first().getAttribute('src')).toMatch(/^blob:/);
    await waitFor(() => answers.some((a) => /format=png/.test(a.url)));
    const png = answers.find((a) => /format=png/.test(a.url))!;
    expect([png.status, png.type]).toEqual([200, 'image/png']);
    // The bytes are a real label image: 100 mm wide at 203 dpi, black ink on white.
    const { data, info } = await sharp(png.body).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect(Math.abs(info.width - Math.round((100 / 25.4) * 203))).toBeLessThanOrEqual(2);
    const ink = data.reduce((n, v) => n + (v < 128 ? 1 : 0), 0) / data.length;
    expect(ink).toBeGreaterThan(0.01);
    expect(ink).toBeLessThan(0.6);
    expect(await page.locator('#fields').innerText()).toContain('欧阳**');
    await browser.screenshot('2-png');
    expectAbsent(await page.evaluate<string>(PAGE_TEXT), SECRETS, 'preview page text (PNG)');

    // What the font cannot draw is said above the field list, by copy and field.
    await page.fill('#order', JSON.stringify({ ...ORDER, parcel: { ...ORDER.parcel, contents: '服装🎁' } }));
    await page.click('#render');
    await page.locator('#fields ul.warnings li').first().waitFor();
    expect(await page.locator('#fields ul.warnings li').allInnerTexts()).toContain('courier copy: parcel.contents has 1 character(s) the font cannot draw');

    // A bad order: the 422's field paths as a list, nothing rendered.
    await page.fill('#order', JSON.stringify({ ...ORDER, recipient: { ...ORDER.recipient, phone: '12' } }));
    await page.click('#render');
    await page.locator('#errors li').nth(1).waitFor();
    expect(await page.locator('#errors').innerText()).toMatch(/recipient\.phone/);
    expect(await page.locator('#labels img, #labels iframe').count()).toBe(0);
    expectAbsent(await page.locator('#errors').innerText(), SECRETS, 'error list');
    await browser.screenshot('3-errors');

    // Logout: no key anywhere in storage, back to the key form.
    await page.click('#logout');
    await page.locator('#login').waitFor();
    expect(await page.evaluate<unknown[]>("[sessionStorage.getItem('waybill.preview.key'), localStorage.length]")).toEqual([null, 0]);
    expect(await page.evaluate<string>('JSON.stringify({ ...sessionStorage })')).not.toContain('wbk_');
    expect(await page.locator('#labels, #fields').allInnerTexts()).toEqual(['', '']);

    expect(browser.offHost).toEqual([]);
    expect(browser.consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
    expect(await rowCounts()).toEqual(before);
  });
});
