// A real browser for page tests: Debian's chromium (never a downloaded build) driven by playwright-core,
// headless, with a fresh profile per test and no network but loopback (the pages load nothing from
// elsewhere; a request to any other host fails the test). Screenshots go to test-artifacts/ (gitignored),
// which CI keeps as the tests' artifacts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');

/**
 * Why browser tests cannot run here, or undefined when they can. Outside CI a machine without chromium
 * skips them with this message; in CI `.ci/run` installs chromium, so there they always run.
 */
export function browserMissing(): string | undefined {
  if (fs.existsSync(CHROMIUM) || process.env.CI) return undefined;
  return `browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it in CI)`;
}

/** `describe` where a browser can run, else `describe.skip` with the reason printed once. */
export function describeBrowser(name: string, tests: () => void): void {
  const missing = browserMissing();
  if (missing) console.warn(missing);
  (missing ? describe.skip : describe)(name, tests);
}

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Requests that left loopback (blocked) and console errors (CSP violations among them). */
  offHost: string[];
  consoleErrors: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

const LOOPBACK = /^(?:https?|wss?):\/\/(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?\//;

export interface BrowserOptions {
  /** More Chromium switches (e.g. a fake camera feed). */
  args?: string[];
  viewport?: { width: number; height: number };
  /** Elements a screenshot paints over besides form fields (e.g. a shown address). */
  mask?: string[];
}

/** A phone's viewport, for the courier app. */
export const PHONE = { width: 412, height: 860 };

export async function openBrowser(testName: string, options: BrowserOptions = {}): Promise<TestBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', ...(options.args ?? [])],
    viewport: options.viewport ?? { width: 1200, height: 1000 },
    acceptDownloads: false,
  });
  const offHost: string[] = [];
  const consoleErrors: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    // Not the network: blob:/data: objects and the browser's own PDF viewer (chrome://, chrome-extension://).
    if (LOOPBACK.test(url) || !/^(?:https?|wss?):/.test(url)) return route.continue();
    offHost.push(new URL(url).host);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  const dir = path.join(ARTIFACTS, testName.replace(/[^a-z0-9-]+/gi, '-'));
  fs.mkdirSync(dir, { recursive: true });
  return {
    context,
    page,
    offHost,
    consoleErrors,
    async screenshot(name) {
      const file = path.join(dir, `${name}.png`);
      // Form fields hold what was typed or pasted (a whole order, an API key): masked, so no screenshot
      // carries personal data or a credential; what the page shows of its own is the point of the picture.
      await page.screenshot({ path: file, fullPage: true, mask: [page.locator(['input', 'textarea', ...(options.mask ?? [])].join(', '))] });
      return file;
    },
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
