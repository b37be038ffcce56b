// `npm start` is the server itself: it runs the built tree (no compile on start) and a SIGTERM sent to
// the npm process, as a process manager sends it, stops the server instead of orphaning it.
// Runs dist/, which `npm ci` builds (prepare); after changing src/, `npm run build` first.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** Whether something accepts TCP connections on that port of the loopback. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true))).once('error', () => resolve(false));
  });

describe('npm start', () => {
  it('serves from the built tree and stops when the npm process gets SIGTERM', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-npm-start-'));
    const npm = spawn('npm', ['start', '--silent', '--', '--port', '0'], {
      cwd: ROOT,
      env: { ...process.env, WAYBILL_DATA_DIR: dataDir, WAYBILL_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    try {
      let said = '';
      const url = await new Promise<string>((resolve, reject) => {
        npm.stderr!.on('data', (d: Buffer) => {
          said += d.toString('utf8');
          const m = /listening on (http:\/\/\S+)/.exec(said);
          if (m) resolve(m[1]!);
        });
        void exited.then((code) => reject(new Error(`npm start exited with ${code} before listening`)));
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const port = Number(new URL(url).port);

      npm.kill('SIGTERM');
      await exited;
      // The server went with it: nothing listens on its port any more.
      for (let i = 0; i < 50 && (await listening(port)); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await listening(port)).toBe(false);
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
