// A network printer as far as raw TCP goes: listens on a local port and keeps each connection's bytes
// as one job. It can be switched off (port closed) and on again on the same port, like a real one. And
// a loopback port nobody listens on, for a printer or service that is off.

import net from 'node:net';

export interface FakePrinter {
  port: number;
  jobs: Buffer[];
  /** Resolves once `n` jobs have arrived completely (their connection closed). */
  received(n: number): Promise<Buffer[]>;
  off(): Promise<void>;
  on(): Promise<void>;
}

export async function fakePrinter(port = 0): Promise<FakePrinter> {
  const jobs: Buffer[] = [];
  const waiters: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      server = net.createServer((socket) => {
        sockets.add(socket);
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('end', () => {
          jobs.push(Buffer.concat(chunks));
          socket.end();
          waiters.splice(0).forEach((w) => w());
        });
        socket.on('close', () => sockets.delete(socket));
      });
      server.once('error', reject).listen(p, '127.0.0.1', () => resolve((server!.address() as net.AddressInfo).port));
    });
  const printer: FakePrinter = {
    port: await listen(port),
    jobs,
    received: (n) =>
      new Promise((resolve) => {
        const check = () => (jobs.length >= n ? resolve(jobs.slice(0, n)) : waiters.push(check));
        check();
      }),
    off: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server!.close(() => resolve());
      }),
    on: async () => {
      await listen(printer.port);
    },
  };
  return printer;
}

/** A loopback port that was free a moment ago and that nobody listens on: every connection is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
