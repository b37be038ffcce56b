// A long print's QR tokens, drawn a group of waybills ahead, so that their QR symbols are encoded on the
// render thread while the waybills before them are laid out: a tenth of a batch's time off the event loop.

import type { QrMatrix } from '../layout/barcodes';
import { encodeQrInThread } from '../render/renderThread';
import { newToken, tokenUrl } from '../vault/qrToken';

/** Tokens are drawn and encoded this many at a time, one group ahead of the waybill being printed. */
const GROUP = 16;
/** Shorter prints encode in line: a round trip to the thread would only add to a small print's latency. */
const THREAD_FROM = 32;

export interface WaybillToken {
  token: string;
  /** The scan URL the QR symbol carries. */
  url: string;
  /** The URL's QR symbol, when it was encoded ahead. */
  qr?: QrMatrix;
}

export class TokensAhead {
  private readonly groups = new Map<number, Promise<WaybillToken[]>>();
  private readonly threaded: boolean;

  /** `encode`: whether the symbols will be printed (a preview's QR shows a placeholder, not the URL). */
  constructor(
    private readonly scanBaseUrl: string,
    private readonly count: number,
    encode: boolean,
  ) {
    this.threaded = encode && count >= THREAD_FROM;
  }

  /** Waybill `index`'s token; each index is taken once, in order. */
  async take(index: number): Promise<WaybillToken> {
    const group = Math.floor(index / GROUP);
    this.draw(group);
    if ((group + 1) * GROUP < this.count) this.draw(group + 1);
    const tokens = await this.groups.get(group)!;
    if (index % GROUP === GROUP - 1) this.groups.delete(group);
    return tokens[index % GROUP]!;
  }

  private draw(group: number): void {
    if (this.groups.has(group)) return;
    const tokens = Array.from({ length: Math.min(GROUP, this.count - group * GROUP) }, (): WaybillToken => {
      const token = newToken();
      return { token, url: tokenUrl(this.scanBaseUrl, token) };
    });
    if (!this.threaded) this.groups.set(group, Promise.resolve(tokens));
    else
      this.groups.set(
        group,
        // The thread only saves time: should it fail, layout encodes each symbol itself.
        encodeQrInThread(tokens.map((t) => t.url)).then(
          (symbols) => tokens.map((t, i) => ({ ...t, qr: symbols[i] })),
          () => tokens,
        ),
      );
  }
}
