import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { encodeCode128, encodeQr } from '../../src/layout/barcodes';
import { deflateInThread, encodeCode128InThread, encodeQrInThread } from '../../src/render/renderThread';
import { PREAMBLE } from '../support/raceProcesses';

describe('the render thread', () => {
  it('answers every request, each with its own streams in order, however many are in flight', async () => {
    // Small streams (slices of node's shared buffer pool, copied) and large ones (handed over).
    const texts = Array.from({ length: 40 }, (_, i) => Array.from({ length: 1 + (i % 5) }, (_, j) => `${i}:${j} `.repeat(i % 2 ? 2000 : 100) + randomBytes(64).toString('hex')));
    const answers = await Promise.all(texts.map((streams) => deflateInThread(streams.map((t) => Buffer.from(t, 'latin1')))));
    answers.forEach((streams, i) => {
      expect(streams).toHaveLength(texts[i]!.length);
      streams.forEach((s, j) => expect(inflateSync(s).toString('latin1')).toBe(texts[i]![j]));
    });
  });

  it("encodes QR symbols module for module as layout's encodeQr does", async () => {
    const payloads = ['https://scan.example.com/w/1' + randomBytes(16).toString('base64url'), 'https://s.example/w/1AbC', 'x'.repeat(300), '扫码 PREVIEW'];
    const symbols = await encodeQrInThread(payloads);
    symbols.forEach((symbol, i) => {
      const expected = encodeQr(payloads[i]!);
      expect(symbol.size).toBe(expected.size);
      for (let y = 0; y < symbol.size; y++) for (let x = 0; x < symbol.size; x++) expect(symbol.dark(x, y)).toBe(expected.dark(x, y));
    });
  });

  it("encodes Code128 bar for bar as layout's encodeCode128 does", async () => {
    const data = ['ZT4815162342001', 'SF1234567890123', '7312345678901', 'JD0001-2', 'ABC123def'];
    expect(await encodeCode128InThread(data)).toEqual(data.map((d) => encodeCode128(d)));
  });

  it('fails a request it cannot do without quoting it, and goes on serving the next', async () => {
    // More than a QR symbol holds.
    const tooLong = 'https://scan.example.com/w/' + 'secret-'.repeat(600);
    const failed = encodeQrInThread([tooLong]);
    await expect(failed).rejects.toThrow('the render thread failed a qr request');
    await failed.catch((e: Error) => expect(e.message).not.toContain('secret'));
    expect((await encodeQrInThread(['https://s.example/w/1AbC']))[0]!.size).toBe(encodeQr('https://s.example/w/1AbC').size);
  });

  it.each([
    ['started ahead and never used', ''],
    ['used, then idle', "await thread.deflateInThread([Buffer.from('page')]);"],
  ])('never holds a process open: a process whose thread was %s exits on its own', async (_, use) => {
    const script = `${PREAMBLE}
      const thread = src('render/renderThread.ts');
      thread.startRenderThread();
      (async () => { ${use} console.log('done'); })();`;
    // A thread that held the process would leave it running until the timeout kills it (no 'done' exit).
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..', '..'), timeout: 30_000 });
    expect(stdout.trim()).toBe('done');
  });
});
