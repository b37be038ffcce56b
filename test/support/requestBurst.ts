// A burst as a harvesting tool sends it: many requests over as many connections, opened first and then
// written in one go, so the server reads them all in the same turn of its event loop.

import net from 'node:net';

/** One HTTP request (method, path, headers, optional JSON body) per connection to `base`; the status of each answer, in order. */
export async function requestBurst(base: string, requests: { method: string; path: string; headers: Record<string, string>; body?: unknown }[]): Promise<number[]> {
  const { hostname, port } = new URL(base);
  const sockets = await Promise.all(
    requests.map(
      () =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect(Number(port), hostname, () => resolve(s));
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 100)); // the server has accepted them all
  const answers = sockets.map(
    (s) =>
      new Promise<number>((resolve) => {
        let head = '';
        s.on('data', (d: Buffer) => (head += d.toString('latin1'))).on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])));
      }),
  );
  // Written, not ended: the server closes each connection once it has answered (Connection: close).
  sockets.forEach((s, i) => {
    const { method, path, headers, body } = requests[i]!;
    const payload = body === undefined ? '' : JSON.stringify(body);
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${hostname}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (payload) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(payload)}`);
    s.write(`${lines.join('\r\n')}\r\n\r\n${payload}`);
  });
  return Promise.all(answers);
}
