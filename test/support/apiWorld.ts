// A real service on a throw-away store of either backend, with an admin key and a warehouse key of the
// client "acme": what most API tests start from.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import type { StoreBackend, TestDatabase } from './storeBackends';

export interface ApiWorld {
  t: TestDatabase;
  env: Record<string, string>;
  services: Services;
  running: RunningService;
  admin: string;
  acme: string;
  dir: string;
}

export async function startApiWorld(backend: StoreBackend, extra: Record<string, string> = {}): Promise<ApiWorld> {
  const t = await backend.open();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-api-'));
  const env = {
    WAYBILL_DATA_DIR: t.location.backend === 'sqlite' ? path.dirname(t.location.file) : dir,
    ...(t.location.backend === 'postgres' ? { DATABASE_URL: t.location.url } : {}),
    ...extra,
  };
  const services = await openServices(loadConfig(env), () => {});
  const running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
  const admin = (await services.apiKeys.add({ name: 'ops', role: 'admin' }, new Date())).credential;
  const acme = (await services.apiKeys.add({ name: 'acme wms', role: 'warehouse', client: 'acme' }, new Date())).credential;
  return { t, env, services, running, admin, acme, dir };
}

export async function stopApiWorld(w: ApiWorld): Promise<void> {
  await w.running.shutdown();
  await w.services.close();
  await w.t.close();
  fs.rmSync(w.dir, { recursive: true, force: true });
}
