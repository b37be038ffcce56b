// A renderer's output kept in memory: one waybill's labels, or a job bound for a network printer.

import { Writable } from 'node:stream';

export function memoryOutput(): { stream: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}
