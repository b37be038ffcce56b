import fs from 'node:fs';
import path from 'node:path';
import { layoutWaybill, SymbolCache } from '../../src/layout/layoutWaybill';
import { WaybillError } from '../../src/errors';
import { listTemplates, loadTemplate, parseTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import { parseOrders } from '../../src/order/readOrders';
import type { CopyKind } from '../../src/privacy/copyPolicy';
import { buildCopyView, type CopyView } from '../../src/privacy/privacyView';
import type { LoadedTemplate } from '../../src/layout/loadTemplate';
import type { Order } from '../../src/order/orderSchema';

const ROOT = path.join(__dirname, '..', '..');
const TEMPLATES = path.join(ROOT, 'templates');
const orders = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');

function views(template: LoadedTemplate, order: Order, printNo = 1): Map<CopyKind, CopyView> {
  const facts = { order, waybillNo: `${order.carrier}123456789012`, qrUrl: 'https://scan.example.com/w/1AAAAAAAAAAAAAAAAAAAAAA' };
  return new Map(
    template.labels
      .flatMap((l) => l.sections)
      .map((s) => [s.copy, buildCopyView(facts, { copy: s.copy, title: s.title, copyCode: 'W8MQ-WWWW', printNo, printedAt: new Date(), lang: template.lang }, s.policy)]),
  );
}

describe.each(listTemplates(TEMPLATES))('layout with template %s', (id) => {
  const template = loadTemplate(TEMPLATES, id);

  it('keeps every sample text inside its label, without truncation, also on a reprint', () => {
    for (const order of orders) {
      const layout = layoutWaybill(template, views(template, order, 12), fontMetrics);
      expect(layout.warnings).toEqual([]);
      for (const label of layout.labels)
        for (const op of label.ops) {
          if (op.op !== 'text') continue;
          expect(op.x).toBeGreaterThanOrEqual(0);
          expect(op.x + fontMetrics.widthMm(op.text, op.sizePt, op.bold)).toBeLessThanOrEqual(label.widthMm + 1e-6);
          expect(op.baseline).toBeLessThanOrEqual(label.heightMm);
        }
    }
  });

  it('shows exactly the same when nobody draws it (a JSON answer), with its symbols sized, not drawn', () => {
    for (const order of orders) {
      const drawn = layoutWaybill(template, views(template, order), fontMetrics);
      const unseen = layoutWaybill(template, views(template, order), fontMetrics, new SymbolCache({}, false));
      expect({ shown: unseen.shown, warnings: unseen.warnings }).toEqual({ shown: drawn.shown, warnings: drawn.warnings });
      const symbols = (l: typeof drawn) => l.labels.flatMap((label) => label.ops.filter((op) => op.op === 'modules'));
      const sized = (op: ReturnType<typeof symbols>[number]) => ({ ...op, modules: { cols: op.modules.cols, rows: op.modules.rows } });
      expect(symbols(unseen).map(sized)).toEqual(symbols(drawn).map(sized));
      expect(symbols(drawn).every((op) => op.modules.runs.length > 0)).toBe(true);
      expect(symbols(unseen).every((op) => op.modules.runs.length === 0)).toBe(true);
    }
  });

  it('draws each symbol of a waybill from one list of modules, whichever copies show it', () => {
    const layout = layoutWaybill(template, views(template, orders[0]!), fontMetrics);
    const ops = layout.labels.flatMap((label) => label.ops.filter((op) => op.op === 'modules'));
    for (const symbol of ['code128', 'qr'] as const) {
      const lists = new Set(ops.filter((op) => op.symbol === symbol).map((op) => op.modules));
      expect(lists.size).toBeLessThanOrEqual(1);
    }
    expect(ops.length).toBeGreaterThan(1);
  });
});

describe('a barcode box too small for its symbol', () => {
  // The courier's copy is the one whose policy shows the QR.
  const narrow = (element: object) =>
    parseTemplate(
      JSON.stringify({ id: 'narrow', name: 'narrow', lang: 'zh', labels: [{ widthMm: 40, heightMm: 30, sections: [{ copy: 'courier', w: 40, h: 30, elements: [element] }] }] }),
      'narrow.json',
    );
  const refusal = (template: LoadedTemplate, symbols: SymbolCache) => {
    try {
      layoutWaybill(template, views(template, orders[0]!), fontMetrics, symbols);
    } catch (e) {
      return e instanceof WaybillError ? { code: e.code, message: e.message } : e;
    }
    return 'laid out';
  };

  it.each([
    ['Code128', { type: 'code128', x: 0, y: 0, w: 12, h: 10 }],
    ['QR', { type: 'qr', x: 0, y: 0, size: 5 }],
  ])('refuses the %s alike whether the layout is drawn or only shown', (_, element) => {
    const template = narrow(element);
    const drawn = refusal(template, new SymbolCache());
    expect(drawn).toMatchObject({ code: 'invalid_template' });
    expect(refusal(template, new SymbolCache({}, false))).toEqual(drawn);
  });
});

describe('text that cannot fit', () => {
  const tight = parseTemplate(
    JSON.stringify({
      id: 'tight',
      name: 'tight',
      lang: 'zh',
      labels: [
        {
          widthMm: 40,
          heightMm: 30,
          sections: [
            {
              copy: 'office',
              w: 40,
              h: 30,
              elements: [
                { type: 'text', field: 'recipient.area', x: 1, y: 1, w: 20, h: 5, fontPt: 10, minFontPt: 8 },
                { type: 'code128', x: 0, y: 10, w: 40, h: 10 },
              ],
            },
          ],
        },
      ],
    }),
    'tight.json',
  );

  it('shrinks, then ends with a visible ellipsis and a warning — never clips silently', () => {
    const xinjiang = orders.find((o) => o.recipient.address.country === 'CN' && o.recipient.address.province.startsWith('新疆'))!;
    const layout = layoutWaybill(tight, views(tight, xinjiang), fontMetrics);
    const texts = layout.labels[0]!.ops.filter((o) => o.op === 'text');
    expect(texts).toHaveLength(1);
    expect(texts[0]).toMatchObject({ sizePt: 8 });
    expect((texts[0] as { text: string }).text.endsWith('…')).toBe(true);
    expect(layout.warnings).toEqual(['office copy: recipient.area was shortened to fit its box']);
    expect(layout.shown[0]!.fields['recipient.area']).toMatch(/…$/);
  });
});

describe('copies showing the same text in the same box', () => {
  const section = (copy: string, x: number) => ({
    copy,
    x,
    w: 40,
    h: 30,
    elements: [{ type: 'text', field: 'recipient.area', x: 1, y: 1, w: 20, h: 5, fontPt: 10, minFontPt: 8 }],
  });
  const template = (sections: object[]) => parseTemplate(JSON.stringify({ id: 'pair', name: 'pair', lang: 'zh', labels: [{ widthMm: 80, heightMm: 30, sections }] }), 'pair.json');

  it('each draw it in their own section, exactly as a copy laid out alone, and each warn', () => {
    const xinjiang = orders.find((o) => o.recipient.address.country === 'CN' && o.recipient.address.province.startsWith('新疆'))!;
    const pair = template([section('office', 0), section('courier', 40)]);
    const layout = layoutWaybill(pair, views(pair, xinjiang), fontMetrics);
    const alone = (copy: string, x: number) => {
      const one = template([section(copy, x)]);
      return layoutWaybill(one, views(one, xinjiang), fontMetrics).labels[0]!.ops;
    };
    expect(layout.labels[0]!.ops).toEqual([...alone('office', 0), ...alone('courier', 40)]);
    expect(layout.warnings).toEqual(['office copy: recipient.area was shortened to fit its box', 'courier copy: recipient.area was shortened to fit its box']);
    expect(layout.shown.map((c) => c.fields['recipient.area'])).toEqual([expect.stringMatching(/…$/), expect.stringMatching(/…$/)]);
  });
});

describe("a template's fixed elements", () => {
  const template = loadTemplate(TEMPLATES, 'cn-4copy');
  const cramped = parseTemplate(
    JSON.stringify({
      id: 'cramped',
      name: 'cramped',
      lang: 'zh',
      labels: [
        {
          widthMm: 40,
          heightMm: 30,
          sections: [{ copy: 'office', w: 40, h: 30, elements: [{ type: 'static', text: '隐私面单：姓名电话地址已脱敏', x: 1, y: 1, w: 10, h: 4, fontPt: 12 }] }],
        },
      ],
    }),
    'cramped.json',
  );

  it('lay out the same on every waybill, whatever was printed before', () => {
    const opsOf = (order: Order) => layoutWaybill(template, views(template, order), fontMetrics).labels.map((l) => l.ops);
    const frames = (labels: ReturnType<typeof opsOf>) => labels.map((ops) => ops.filter((op) => op.op === 'line' || op.op === 'box'));
    const first = opsOf(orders[0]!);
    const later = opsOf(orders[1]!);
    expect(frames(later)).toEqual(frames(first));
    // The template's own texts are all still there, on the later waybill too.
    const statics = template.labels.flatMap((l) => l.sections.flatMap((s) => s.elements.flatMap((e) => (e.type === 'static' ? [e.text] : []))));
    const texts = later.flat().flatMap((op) => (op.op === 'text' ? [op.text] : []));
    for (const text of statics) expect(texts).toContain(text);
  });

  it('warn on every waybill when a fixed text does not fit, not only on the first', () => {
    for (const order of orders.slice(0, 3))
      expect(layoutWaybill(cramped, views(cramped, order), fontMetrics).warnings).toEqual(['office copy: static text does not fit its box']);
  });
});
