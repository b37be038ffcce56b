// `waybill serve`: the HTTP service on the embedded store, with the purge sweep running beside it.

import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import { createApp } from '../http/app';
import { purgeDue } from '../vault/lifecycle';
import { relayDeps, type Services } from '../wiring';

const SWEEP_MS = 60_000;

export async function serveCommand(args: string[], services: Services, log: (line: string) => void): Promise<Server> {
  const { values } = parseArgs({ args, options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be a port number');
  const { config, store, audit, couriers, keys } = services;
  const relay = relayDeps(services);
  const now = () => new Date();
  const app = createApp({
    store,
    couriers,
    audit,
    keys,
    limits: config.scan,
    retentionGraceDays: config.retentionGraceDays,
    ...(relay ? { relay: { ...relay, calls: services.relayStore, bindings: services.relayStore, telephony: services.telephony } } : {}),
    now,
    log: (entry) => log(JSON.stringify({ time: new Date().toISOString(), ...entry })),
  });
  const sweep = async () => {
    try {
      const n = await purgeDue({ store, audit, retentionGraceDays: config.retentionGraceDays, now });
      const expired = await services.relayStore.expireDue(now());
      if (n || expired) log(JSON.stringify({ time: new Date().toISOString(), event: 'purge', shredded: n, relayBindingsExpired: expired }));
    } catch (e) {
      log(JSON.stringify({ time: new Date().toISOString(), event: 'purge_failed', error: (e as Error).name }));
    }
  };
  await sweep();
  const timer = setInterval(sweep, SWEEP_MS);
  timer.unref();
  const server = app.listen(port, values.host);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const address = server.address();
  log(`waybill service listening on http://${values.host}:${typeof address === 'object' && address ? address.port : port}`);
  server.on('close', () => clearInterval(timer));
  return server;
}
