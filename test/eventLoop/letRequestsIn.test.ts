// Long work that hands the event loop back from an I/O callback (where a stream's drain or a socket's data
// resumes it) lets in the requests that arrived meanwhile before it goes on, not after.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { letRequestsIn } from '../../src/eventLoop';

test('a request that arrived while an I/O callback worked is read before that work goes on', async () => {
  const seen: string[] = [];
  const server = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      seen.push(`read ${text}`);
      if (text !== 'first') return;
      socket.write('busy'); // the client sends its second message now, while this callback still works
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
      void letRequestsIn().then(() => seen.push('first work goes on'));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  // Another process, so that its second message arrives while this one's event loop is held.
  const client = spawn(process.execPath, [
    '-e',
    `const s = require('net').connect(${port}, '127.0.0.1', () => s.write('first')); s.once('data', () => s.write('second')); setTimeout(() => s.end(), 2000);`,
  ]);
  try {
    for (const until = Date.now() + 10_000; seen.length < 3 && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(seen).toEqual(['read first', 'read second', 'first work goes on']);
  } finally {
    client.kill('SIGKILL');
    server.close();
  }
});
