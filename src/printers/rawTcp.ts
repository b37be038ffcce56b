// Raw TCP printing ("port 9100", JetDirect): open a connection, write the job, close. The protocol has
// no acknowledgement, so "sent" means every byte was handed over and the connection closed cleanly: our
// side closed after the last byte, and then the printer's (as CUPS's socket backend waits for it). Our
// side's 'finish' alone means only that the bytes reached this machine's send buffer: a printer that
// read part of the job and then reset, or read nothing at all, looked delivered.

import net from 'node:net';

export interface PrinterAddress {
  host: string;
  port: number;
}

/**
 * Why a send failed. `nothingSent` is true when the printer took no byte (refused, unreachable, no
 * connection in time): a retry cannot print anything twice. Otherwise part of the job may be on paper.
 */
export class SendFailure extends Error {
  constructor(
    message: string,
    readonly nothingSent: boolean,
  ) {
    super(message);
    this.name = 'SendFailure';
  }
}

export interface SendOptions {
  /** How long to wait for the connection. */
  connectTimeoutMs: number;
  /** How long the printer may stall (not read) before the send is given up. */
  idleTimeoutMs: number;
}

// Messages name no host or port: they reach API clients (problem answers, a job's lastError), who know
// the printer by its name only; the caller prefixes that name.
export function sendRaw(to: PrinterAddress, bytes: Buffer, opts: SendOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    let connected = false;
    let settled = false;
    const socket = net.connect({ host: to.host, port: to.port });
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      socket.destroy();
      reject(new SendFailure(message, !connected));
    };
    const connectTimer = setTimeout(() => fail(`no connection within ${opts.connectTimeoutMs} ms`), opts.connectTimeoutMs);
    socket.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      socket.setTimeout(opts.idleTimeoutMs, () => fail(`stopped taking data for ${opts.idleTimeoutMs} ms`));
      socket.end(bytes);
    });
    // Delivered once both sides closed cleanly, in either order: the printer may close its side as soon as
    // it has read the job. A reset instead, or a printer that stops reading (the idle timeout), fails the
    // send with part of it maybe on paper.
    let finished = false;
    let ended = false;
    const done = () => {
      if (settled || !finished || !ended) return;
      settled = true;
      socket.destroySoon();
      resolve();
    };
    socket.once('finish', () => {
      finished = true;
      done();
    });
    socket.once('end', () => {
      ended = true;
      done();
    });
    socket.on('data', () => undefined); // status bytes some printers send back; not needed here
    socket.on('error', (e: NodeJS.ErrnoException) => fail(describe(e))); // on, not once: a late second error must not go unhandled
    socket.once('close', () => fail(finished ? 'closed the connection without confirming the job was read' : 'closed the connection before the job was sent'));
  });
}

function describe(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'refused the connection (printer off or port closed)';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'is unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset the connection';
    default:
      return `connection error (${/^[A-Z0-9_]{1,32}$/.test(e.code ?? '') ? e.code : 'unknown'})`;
  }
}
