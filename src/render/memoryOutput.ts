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
  // Joined once: a create's answer reads the bytes before its save and again after it.
  const bytes = () => {
    if (chunks.length !== 1) chunks.splice(0, chunks.length, Buffer.concat(chunks));
    return chunks[0]!;
  };
  return { stream, bytes };
}
