// `npm run bench:agent`: end-to-end latency of printing through a warehouse agent — from the API call
// (POST /v1/waybills/{id}/print) to the last byte at the printer — and the job sizes, per language.
// The service, the agent and a fake raw-TCP printer run in this process on loopback (one event loop for
// all three, so the figures include their contention); a fresh SQLite store. Prints figures; asserts nothing.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { startAgent } from '../agent/agent';
import type { AgentPrinter } from '../agent/printersFile';
import { serveCommand } from '../cli/serveCommand';
import { loadConfig, PACKAGE_ROOT } from '../config/config';
import { openServices } from '../wiring';

const PRINTS = Number(process.env.BENCH_PRINTS ?? 30);

/** A raw-TCP printer on loopback that reports when each job's last byte arrived. */
async function fakePrinter(): Promise<{ port: number; next(): Promise<{ at: bigint; bytes: number }>; close(): Promise<void> }> {
  const waiting: ((job: { at: bigint; bytes: number }) => void)[] = [];
  const server = net.createServer((socket) => {
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    socket.on('end', () => {
      const at = process.hrtime.bigint();
      socket.end();
      waiting.shift()?.({ at, bytes });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-agent-bench-'));
  const services = await openServices(loadConfig({ WAYBILL_DATA_DIR: dataDir, WAYBILL_LOG_LEVEL: 'silent', WAYBILL_API_RATE_PER_SECOND: '1000' }), () => {});
  const running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough().resume());
  const printer = await fakePrinter();
  try {
    const warehouse = (await services.apiKeys.add({ name: 'bench wms', role: 'warehouse', client: 'bench' }, new Date())).credential;
    const printerKey = (await services.apiKeys.add({ name: 'bench agent', role: 'printer', client: 'bench' }, new Date())).credential;
    const printers: AgentPrinter[] = (['zpl', 'tspl', 'cpcl'] as const).flatMap((language) =>
      (['native', 'raster'] as const).map((barcodes) => ({
        name: `${language}-${barcodes}`,
        language,
        dpi: 203 as const,
        template: 'cn-4copy',
        barcodes,
        text: 'raster' as const,
        connection: { kind: 'tcp' as const, host: '127.0.0.1', port: printer.port },
      })),
    );
    const agent = startAgent({ service: running.url, key: printerKey, printers, log: () => {} });
    await agent.welcomed();
    const order = fs.readFileSync(path.join(PACKAGE_ROOT, 'samples', 'order.json'), 'utf8');
    const call = (p: string, key: string, body: string) =>
      fetch(`${running.url}${p}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });

    console.log(`machine: ${os.cpus().length} CPU(s), Node ${process.version}; ${PRINTS} prints per printer, cn-4copy (4 labels) at 203 dpi`);
    console.log('printer (language-barcodes)   job bytes   p50 ms   p90 ms   max ms');
    let n = 0;
    for (const p of printers) {
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < PRINTS + 3; i++) {
        const created = (await (await call('/v1/waybills', warehouse, JSON.stringify({ ...JSON.parse(order), orderId: `BENCH-${++n}` }))).json()) as { id: string };
        const arrived = printer.next();
        const start = process.hrtime.bigint();
        const res = await call(`/v1/waybills/${created.id}/print`, printerKey, JSON.stringify({ printer: p.name }));
        if (res.status !== 200) throw new Error(`print answered ${res.status}`);
        const job = await arrived;
        if (i >= 3) times.push(Number(job.at - start) / 1e6); // the first prints warm up
        bytes = job.bytes;
      }
      times.sort((a, b) => a - b);
      console.log(`${p.name.padEnd(28)}${String(bytes).padStart(10)}${percentile(times, 50).toFixed(1).padStart(9)}${percentile(times, 90).toFixed(1).padStart(9)}${times[times.length - 1]!.toFixed(1).padStart(9)}`);
    }
    await agent.stop();
  } finally {
    await printer.close();
    await running.shutdown();
    await services.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
