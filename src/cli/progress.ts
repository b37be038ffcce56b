// Progress of a long print on a terminal: orders validated, waybills rendered, rate and time left. Only
// when stderr is a terminal (a pipe or a log file gets the summary line alone) and only for prints long
// enough to wait for.

import { SingleBar } from 'cli-progress';

/** Prints of fewer orders finish in about a second: no bar. */
export const PROGRESS_FROM_ORDERS = 200;

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function printProgress(validated: { orders: number; ms: number }, stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  if (!stream.isTTY || validated.orders < PROGRESS_FROM_ORDERS) return undefined;
  stream.write(`validated ${validated.orders} orders in ${validated.ms} ms\n`);
  const bar = new SingleBar({
    stream,
    format: 'rendering [{bar}] {value}/{total} waybills | {rate}/s | {eta_formatted} left',
    barCompleteChar: '#',
    barIncompleteChar: '-',
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 100,
    fps: 5,
  });
  const started = Date.now();
  bar.start(validated.orders, 0, { rate: '0' });
  return {
    update: (done) => bar.update(done, { rate: (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(0) }),
    stop: () => bar.stop(),
  };
}
