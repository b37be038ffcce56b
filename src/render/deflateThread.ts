// Page streams compressed on a second thread, so a long document's deflate (a sixth of a batch's time)
// runs beside the event loop instead of on it. One thread per process, started on first use and
// unreferenced while idle (it never keeps a process alive); requests are answered in the order sent.

import { Worker } from 'node:worker_threads';

// The thread's whole program, inline: no file to locate from compiled output or from the tests' sources.
const PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { deflateSync } = require('node:zlib');
parentPort.on('message', ({ id, streams }) => {
  try {
    parentPort.postMessage({ id, streams: streams.map((s) => deflateSync(s)) });
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? e.message : 'deflate failed' });
  }
});`;

interface Reply {
  id: number;
  streams?: Uint8Array[];
  error?: string;
}

interface Thread {
  worker: Worker;
  waiting: Map<number, { resolve: (streams: Uint8Array[]) => void; reject: (e: Error) => void }>;
}

let thread: Thread | undefined;
let nextId = 0;

function start(): Thread {
  const t: Thread = { worker: new Worker(PROGRAM, { eval: true }), waiting: new Map() };
  t.worker.on('message', (reply: Reply) => {
    const request = t.waiting.get(reply.id);
    t.waiting.delete(reply.id);
    if (!t.waiting.size) t.worker.unref();
    if (reply.streams) request?.resolve(reply.streams);
    else request?.reject(new Error(`page compression failed: ${reply.error}`));
  });
  // A thread that dies fails what it held; the next request starts a new one.
  const fail = (e: Error) => {
    if (thread === t) thread = undefined;
    for (const request of t.waiting.values()) request.reject(e);
    t.waiting.clear();
  };
  t.worker.on('error', fail);
  t.worker.on('exit', (code) => fail(new Error(`the page compression thread stopped (exit code ${code})`)));
  return t;
}

/**
 * The streams deflated (zlib format, as PDF's FlateDecode reads), in the order given. A stream that is
 * the whole of its memory is handed over, not copied: the caller must not use it afterwards.
 */
export function deflateInThread(streams: Uint8Array[]): Promise<Uint8Array[]> {
  const t = (thread ??= start());
  const id = nextId++;
  const owned = new Set(streams.filter((s) => s.byteOffset === 0 && s.byteLength === s.buffer.byteLength && s.buffer instanceof ArrayBuffer).map((s) => s.buffer as ArrayBuffer));
  return new Promise((resolve, reject) => {
    t.waiting.set(id, { resolve, reject });
    t.worker.ref();
    t.worker.postMessage({ id, streams }, [...owned]);
  });
}
