// Writing a job to a printer from the agent, on the warehouse LAN: raw TCP (port 9100), a USB printer's
// device file (append-write), or a CUPS queue (`lp -d QUEUE -o raw`, the bytes on stdin). Failures are
// SendFailure with `nothingSent` when no byte reached the printer; messages name no host, file or queue.

import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { SendFailure, sendRaw, type SendOptions } from '../printers/rawTcp';
import type { PrinterConnection } from './printersFile';

export interface PortOptions extends SendOptions {
  /** The `lp` binary (WAYBILL_AGENT_LP overrides it, for tests). */
  lp: string;
}

export const DEFAULT_PORT_OPTIONS: PortOptions = { connectTimeoutMs: 10_000, idleTimeoutMs: 30_000, lp: 'lp' };

export async function writeToPrinter(connection: PrinterConnection, bytes: Buffer, opts: PortOptions): Promise<void> {
  switch (connection.kind) {
    case 'tcp':
      return sendRaw({ host: connection.host, port: connection.port }, bytes, opts);
    case 'usb':
      return writeDevice(connection.device, bytes);
    case 'cups':
      return lp(opts.lp, connection.queue, bytes, opts.idleTimeoutMs);
  }
}

async function writeDevice(device: string, bytes: Buffer): Promise<void> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(device, 'a');
  } catch (e) {
    throw new SendFailure(`device file ${errnoText(e)}`, true);
  }
  let written = 0;
  try {
    while (written < bytes.length) written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
  } catch (e) {
    throw new SendFailure(`device write failed (${errnoText(e)})`, written === 0);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function lp(bin: string, queue: string, bytes: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // No shell: the queue name is one argument whatever it holds.
    const child = spawn(bin, ['-d', queue, '-o', 'raw'], { stdio: ['pipe', 'ignore', 'ignore'] });
    let settled = false;
    const done = (error?: SendFailure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(new SendFailure(`lp did not finish within ${timeoutMs} ms`, false));
    }, timeoutMs);
    child.once('error', (e) => done(new SendFailure(`lp could not be started (${errnoText(e)})`, true)));
    child.stdin.on('error', () => undefined); // an early exit closes stdin; the exit code tells
    child.once('close', (code) => (code === 0 ? done() : done(new SendFailure(`lp refused the job (exit ${code ?? 'signal'})`, true))));
    child.stdin.end(bytes);
  });
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (code === 'ENOENT') return 'not found';
  if (code === 'EACCES' || code === 'EPERM') return 'not permitted';
  return /^[A-Z0-9_]{1,32}$/.test(code) ? code : 'unknown error';
}
