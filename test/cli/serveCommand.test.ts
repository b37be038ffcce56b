import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { serveCommand } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices } from '../../src/wiring';

describe('waybill serve', () => {
  it('listens where it says, answers health checks and problem+json for unknown routes', async () => {
    const config = loadConfig({ WAYBILL_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-serve-')) });
    const services = openServices(config, () => {});
    const lines: string[] = [];
    const server = await serveCommand(['--port', '0'], services, (l) => lines.push(l));
    try {
      const port = (server.address() as AddressInfo).port;
      expect(lines).toContain(`waybill service listening on http://127.0.0.1:${port}`);
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ status: 'ok' });
      const missing = await fetch(`http://127.0.0.1:${port}/v1/nothing`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toMatch(/application\/problem\+json/);
      const bad = await fetch(`http://127.0.0.1:${port}/v1/waybills/ZT1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":' });
      expect([400, 401]).toContain(bad.status);
      expect(lines.some((l) => /"route":"\/healthz","status":200/.test(l))).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
      await services.close();
    }
  });
});
