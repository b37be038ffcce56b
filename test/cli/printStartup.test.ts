// `waybill print` loads what printing needs and nothing else: the server, the print agent, the webhook
// client, the PostgreSQL driver and the raster library load with the commands that use them, and our own
// modules come in one file, so a one-order print does not pay their start-up. Runs dist/, which `npm ci`
// builds (prepare); after changing src/, `npm run build` first.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUNDLED } from '../../src/build/bundleCli';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Packages a PDF print must not load (on its main thread: the barcode encoders run on the render thread). */
const NOT_FOR_PRINTING = ['express', 'undici', 'pg', 'ws', 'sharp', 'prom-client', 'pino', 'swagger-ui-dist', 'selfsigned', 'bwip-js', 'qrcode'];

it('a PDF print loads our code as one file, and no server, agent, webhook client, PostgreSQL driver or raster library', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-print-startup-'));
  try {
    const env = { ...process.env, WAYBILL_DATA_DIR: dir, WAYBILL_LOG_LEVEL: 'silent' };
    execFileSync(process.execPath, [CLI, 'init'], { env, stdio: 'ignore' });
    const orders = path.join(dir, 'orders.ndjson');
    fs.writeFileSync(orders, fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8').split('\n')[0] + '\n');
    // The command runs in this child as `waybill print` would; then the child lists the packages it loaded.
    const script = `
      const { main } = require(${JSON.stringify(CLI)});
      main(['print', ${JSON.stringify(orders)}, '--out', ${JSON.stringify(path.join(dir, 'out.pdf'))}], { out: () => {}, err: () => {} }).then((code) => {
        const files = Object.keys(require.cache);
        const loaded = new Set(files.flatMap((f) => /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(f)?.[1] ?? []));
        const ours = files.filter((f) => f.startsWith(${JSON.stringify(path.join(ROOT, 'dist') + path.sep)}));
        process.stdout.write(JSON.stringify({ code, loaded: [...loaded], ours }));
      });`;
    const { code, loaded, ours } = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })) as { code: number; loaded: string[]; ours: string[] };
    expect(code).toBe(0);
    expect(fs.statSync(path.join(dir, 'out.pdf')).size).toBeGreaterThan(1000);
    expect(loaded).toEqual(expect.arrayContaining(['pdfkit', 'fontkit', 'better-sqlite3']));
    expect(loaded.filter((p) => NOT_FOR_PRINTING.includes(p))).toEqual([]);
    // One file: the built CLI bundles our modules and the packages it copies in (src/build/bundleCli.ts).
    expect(ours).toEqual([CLI]);
    expect(loaded.filter((p) => BUNDLED.has(p))).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
