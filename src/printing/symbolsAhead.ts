// A long print's QR tokens, drawn a group of waybills ahead, so that their barcodes (the QR of the token's
// URL, the Code128 of each piece's number) are encoded on the render thread while the waybills before
// them are laid out: a sixth of a batch's time off the event loop.

import type { QrMatrix } from '../layout/barcodes';
import { encodeCode128InThread, encodeQrInThread, renderThreadForEveryPrint, startRenderThread } from '../render/renderThread';
import { newToken, tokenUrl } from '../vault/qrToken';

/** Tokens are drawn and symbols encoded this many waybills at a time, one group ahead of the one printed. */
const GROUP = 16;
/**
 * Shorter prints encode in line: a round trip to the thread would only add to a small print's latency
 * (unless the process has every print use the thread: the CLI, renderThread.ts).
 */
const THREAD_FROM = 32;

export interface WaybillSymbols {
  token: string;
  /** The scan URL the QR symbol carries. */
  url: string;
  /** What was encoded ahead (layout encodes whatever is missing). */
  encoded: { qr?: { data: string; qr: QrMatrix }; code128?: Map<string, number[]> };
}

export class SymbolsAhead {
  private readonly groups = new Map<number, Promise<WaybillSymbols>[]>();
  private readonly threaded: boolean;

  /**
   * Starts the render thread now if a print of `count` waybills will use it: it takes some 150 ms to
   * start (its own isolate, the barcode libraries), which a print's checks and numbering can cover.
   */
  static prepare(count: number, encode: boolean): void {
    if (encode && count >= THREAD_FROM) startRenderThread();
  }

  /**
   * `numbers`: per waybill, its pieces' numbers (the waybill's own first), which the Code128s carry.
   * `encode`: whether symbols will be printed (a preview's show placeholders, not the token or number).
   */
  constructor(
    private readonly scanBaseUrl: string,
    private readonly numbers: readonly (readonly string[])[],
    encode: boolean,
  ) {
    this.threaded = encode && (numbers.length >= THREAD_FROM || renderThreadForEveryPrint());
    // The first symbols are encoded while the print binds its first relay numbers.
    if (this.threaded) this.draw(0);
  }

  /** Waybill `index`'s token and symbols; each index is taken once, in order. */
  async take(index: number): Promise<WaybillSymbols> {
    const group = Math.floor(index / GROUP);
    this.draw(group);
    if ((group + 1) * GROUP < this.numbers.length) this.draw(group + 1);
    const waybill = this.groups.get(group)![index % GROUP]!;
    if (index % GROUP === GROUP - 1) this.groups.delete(group);
    return waybill;
  }

  private draw(group: number): void {
    if (this.groups.has(group)) return;
    const numbers = this.numbers.slice(group * GROUP, (group + 1) * GROUP);
    const waybills = numbers.map((): WaybillSymbols => {
      const token = newToken();
      return { token, url: tokenUrl(this.scanBaseUrl, token), encoded: {} };
    });
    if (!this.threaded) return void this.groups.set(group, waybills.map((w) => Promise.resolve(w)));
    // Asked for waybill by waybill, in order: the first waybill's symbols come back after one encoding,
    // not after the group's (the thread's first encodings, before it has warmed up, are its slowest).
    this.groups.set(
      group,
      waybills.map((w, i) =>
        Promise.all([encodeQrInThread([w.url]), encodeCode128InThread([...numbers[i]!])]).then(
          ([[qr], widths]) => ({ ...w, encoded: { qr: { data: w.url, qr: qr! }, code128: new Map(numbers[i]!.map((no, k) => [no, widths[k]!])) } }),
          // The thread only saves time: should it fail, layout encodes each symbol itself.
          () => w,
        ),
      ),
    );
  }
}
