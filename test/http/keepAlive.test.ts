// An idle connection stays open longer than the proxies and client pools in front of the service keep
// theirs (WAYBILL_KEEP_ALIVE_SECONDS, 65 s by default): Node's own 5 s closed it under a load balancer's
// next request (a reset, or its 502, for a create the client cannot safely send again).

import http from 'node:http';
import net, { type Socket } from 'node:net';
import { once } from 'node:events';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { STORE_BACKENDS } from '../support/storeBackends';

const sqlite = STORE_BACKENDS.find(([name]) => name === 'SQLite')![1];

/** GET /healthz on the agent's connection: the Keep-Alive header, whether that connection was used before, and the connection. */
function healthz(url: string, agent: http.Agent): Promise<{ keepAlive: string | undefined; reused: boolean; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL('/healthz', url), { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ keepAlive: res.headers['keep-alive'] as string | undefined, reused: req.reusedSocket, socket: req.socket! }));
    });
    req.on('error', reject);
  });
}

describe('idle connections', () => {
  let w: ApiWorld | undefined;
  afterEach(async () => {
    if (w) await stopApiWorld(w);
    w = undefined;
  });

  it('are kept 65 s by default, so a client back after Node’s 5 s finds its connection open', async () => {
    w = await startApiWorld(sqlite);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await healthz(w.running.url, agent);
      expect([first.keepAlive, first.reused]).toEqual(['timeout=65', false]);
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const second = await healthz(w.running.url, agent);
      expect([second.keepAlive, second.reused, second.socket]).toEqual(['timeout=65', true, first.socket]);
    } finally {
      agent.destroy();
    }
  }, 30_000);

  it('are kept as long as WAYBILL_KEEP_ALIVE_SECONDS says, and closed by the service after it', async () => {
    w = await startApiWorld(sqlite, { WAYBILL_KEEP_ALIVE_SECONDS: '1' });
    // A bare connection, which never closes on its own (an agent closes sockets by the header's hint).
    const socket = net.connect(Number(new URL(w.running.url).port), '127.0.0.1');
    try {
      let answer = '';
      socket.setEncoding('latin1').on('data', (text: string) => (answer += text));
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await once(socket, 'end'); // the service ends it, a second after its answer
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n(.+\r\n)*Keep-Alive: timeout=1\r\n/);
    } finally {
      socket.destroy();
    }
  }, 30_000);
});
