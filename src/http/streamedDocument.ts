// The sink a streamed answer renders into (batches, previews): each waybill first commits the answer's
// headers (`beforeEach`, which also refuses once the client went away), a client that stops reading is
// given up after `idleSeconds` of backpressure, and the event loop is yielded between waybills, since
// rendering is synchronous CPU work.

import { nextTurn } from '../eventLoop';
import type { WaybillSink } from '../printing/waybillSink';

export function streamedSink(document: WaybillSink, opts: { beforeEach: () => void; idleSeconds?: number }): WaybillSink {
  const idleMs = (opts.idleSeconds ?? 0) * 1000;
  const unlessIdle = async (work: Promise<void>) => {
    if (!idleMs) return work;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the client stopped reading')), idleMs);
    });
    return Promise.race([work, idle]).finally(() => clearTimeout(timer));
  };
  return {
    draws: document.draws,
    add: async (waybill, layout) => {
      opts.beforeEach();
      await unlessIdle(document.add(waybill, layout));
      await nextTurn();
    },
    finish: async () => {
      opts.beforeEach();
      await unlessIdle(document.finish());
    },
  };
}
