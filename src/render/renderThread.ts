// A second thread for the pure CPU work of long prints, so it runs beside the event loop instead of on
// it: deflating a document's page streams (a sixth of a batch's time) and encoding barcodes ahead of
// layout (a sixth). One thread per process, started ahead of or on first use and unreferenced while idle
// (it never keeps a process alive); requests are answered in the order sent.

import { Worker } from 'node:worker_threads';
import { CODE128_OPTIONS, QR_OPTIONS, qrMatrix, type QrMatrix } from '../layout/barcodes';
import { QRCODE_FORMAT_INFO, qrEncoder } from '../layout/qrEncoder';

// The thread's whole program, inline: no file to locate from compiled output or from the tests' sources.
// Its barcode calls are encodeQr's and encodeCode128's (layout/barcodes.ts), with the same options and the
// same QR encoder (its source); a test holds their symbols equal.
const PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
const { deflateSync } = require('node:zlib');
const bwipjs = require(workerData.bwipjs);
const qr = (${qrEncoder.toString()})({ create: require(workerData.qrcode).create, getEncodedBits: require(workerData.qrFormatInfo).getEncodedBits }, workerData.qrOptions);
const jobs = {
  deflate: (stream) => deflateSync(stream, { level: workerData.deflateLevel }),
  qr,
  code128: (data) => bwipjs.raw('code128', data, workerData.code128Options)[0].sbs,
};
parentPort.on('message', ({ id, job, inputs }) => {
  try {
    parentPort.postMessage({ id, outputs: inputs.map(jobs[job]) });
  } catch {
    parentPort.postMessage({ id, failed: true });
  }
});`;

/** A failure says no more than that: an encoder's message may quote what it was given. */
interface Reply {
  id: number;
  outputs?: unknown[];
  failed?: true;
}

interface Thread {
  worker: Worker;
  waiting: Map<number, { job: Job; resolve: (outputs: unknown[]) => void; reject: (e: Error) => void }>;
}

/** zlib's fastest level, for PDF streams: against its default, two thirds of the time, some 4–8 % larger. */
export const DEFLATE_LEVEL = 1;

let thread: Thread | undefined;
let nextId = 0;

function start(): Thread {
  const worker = new Worker(PROGRAM, {
    eval: true,
    // Its garbage is short-lived buffers: a small young generation keeps the process's memory down.
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
    workerData: { deflateLevel: DEFLATE_LEVEL, qrcode: require.resolve('qrcode'), qrFormatInfo: require.resolve(QRCODE_FORMAT_INFO), qrOptions: QR_OPTIONS, bwipjs: require.resolve('bwip-js'), code128Options: CODE128_OPTIONS },
  });
  const t: Thread = { worker, waiting: new Map() };
  t.worker.on('message', (reply: Reply) => {
    const request = t.waiting.get(reply.id);
    t.waiting.delete(reply.id);
    if (!t.waiting.size) t.worker.unref();
    if (reply.outputs) request?.resolve(reply.outputs);
    else request?.reject(new Error(`the render thread failed a ${request.job} request`));
  });
  // A thread that dies fails what it held; the next request starts a new one.
  const fail = (e: Error) => {
    if (thread === t) thread = undefined;
    for (const request of t.waiting.values()) request.reject(e);
    t.waiting.clear();
  };
  t.worker.on('error', fail);
  t.worker.on('exit', (code) => fail(new Error(`the render thread stopped (exit code ${code})`)));
  // Referenced only while a request waits: a thread started ahead and never used does not hold the process.
  t.worker.unref();
  return t;
}

/** Starts the thread ahead of its first request, so that its start-up overlaps the caller's own work. */
export function startRenderThread(): void {
  thread ??= start();
}

let forEveryPrint = false;

/**
 * For a process that prints and does nothing else (the CLI): starts the thread now and has every print's
 * barcodes made there, a one-waybill print's too, so the event loop never loads the encoders (some 40 ms
 * of a one-order `waybill print`). A server does not ask this: its single creates would queue behind a
 * long batch's pages.
 */
export function useRenderThreadForEveryPrint(): void {
  startRenderThread();
  forEveryPrint = true;
}

export function renderThreadForEveryPrint(): boolean {
  return forEveryPrint;
}

type Job = 'deflate' | 'qr' | 'code128';

function run(job: Job, inputs: unknown[], transfer: ArrayBuffer[] = []): Promise<unknown[]> {
  const t = (thread ??= start());
  const id = nextId++;
  return new Promise((resolve, reject) => {
    t.waiting.set(id, { job, resolve, reject });
    t.worker.ref();
    t.worker.postMessage({ id, job, inputs }, transfer);
  });
}

/**
 * The streams deflated (zlib format, as PDF's FlateDecode reads), in the order given. A stream that is
 * the whole of its memory is handed over, not copied: the caller must not use it afterwards.
 */
export async function deflateInThread(streams: Uint8Array[]): Promise<Uint8Array[]> {
  const owned = new Set(streams.filter((s) => s.byteOffset === 0 && s.byteLength === s.buffer.byteLength && s.buffer instanceof ArrayBuffer).map((s) => s.buffer as ArrayBuffer));
  return (await run('deflate', streams, [...owned])) as Uint8Array[];
}

/** QR symbols for the payloads, in order: encodeQr's (layout/barcodes.ts), made on the thread. */
export async function encodeQrInThread(payloads: string[]): Promise<QrMatrix[]> {
  const symbols = (await run('qr', payloads)) as { size: number; data: Uint8Array }[];
  return symbols.map((s) => qrMatrix(s.size, s.data));
}

/** Code128 bar and space widths for the data, in order: encodeCode128's (layout/barcodes.ts), made on the thread. */
export async function encodeCode128InThread(data: string[]): Promise<number[][]> {
  return (await run('code128', data)) as number[][];
}
