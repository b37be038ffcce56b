import fs from 'node:fs';
import path from 'node:path';
import { WaybillError, formatIssue } from '../../src/errors';
import { loadTemplate, parseTemplate } from '../../src/layout/loadTemplate';

const TEMPLATES = path.join(__dirname, '..', '..', 'templates');
const base = JSON.parse(fs.readFileSync(path.join(TEMPLATES, 'cn-4copy.json'), 'utf8'));

/** Loads cn-4copy with one change and returns the refusal's issues as text. */
function refusal(change: (t: any) => void): string[] {
  const t = structuredClone(base);
  change(t);
  try {
    parseTemplate(JSON.stringify(t), 'changed.json');
  } catch (e) {
    expect(e).toBeInstanceOf(WaybillError);
    expect((e as WaybillError).code).toBe('invalid_template');
    return (e as WaybillError).issues.map(formatIssue);
  }
  throw new Error('expected the template to be refused');
}

const courier = (t: any) => t.labels[0].sections[0];
const office = (t: any) => t.labels[2].sections[0];

describe('template loading', () => {
  it('loads the built-in four-copy waybill with one section per copy', () => {
    const t = loadTemplate(TEMPLATES, 'cn-4copy');
    expect(t.copies).toEqual(['courier', 'recipient', 'office', 'sender']);
    expect(t.labels[0]!.sections[0]!.title).toBe('派件联');
  });

  it('refuses a phone policy below the GB/T 41833 floor (the familiar 138****1234)', () => {
    const issues = refusal((t) => (courier(t).policy = { recipient: { phone: { show: 'masked', keepFirst: 3, keepLast: 4 } } }));
    expect(issues).toEqual([expect.stringMatching(/^changed\.json: labels\[0\]\.sections\[0\]\.policy\.recipient\.phone: shows 7 of 11 digits.*GB\/T 41833/)]);
  });

  it("refuses a policy that shows more than its copy's default, within the floor or not: a template may only tighten", () => {
    const more = (path: string) => expect.stringMatching(new RegExp(`^changed\\.json: labels\\[2\\]\\.sections\\[0\\]\\.policy\\.${path}: shows .* beyond the office copy's default`));
    // 139******17 and a QR on the office stub: within the floor (6 hidden), but the stub shows neither.
    expect(refusal((t) => (office(t).policy = { qr: true, recipient: { phone: { show: 'masked', keepFirst: 3, keepLast: 2 } } }))).toEqual([more('qr'), more('recipient\\.phone\\.show')]);
    const courierMore = (change: object) => refusal((t) => (courier(t).policy = change));
    // The first 5 digits on one section and the last 4 on another would leave 2 of 11 hidden on one paper.
    expect(courierMore({ recipient: { phone: { show: 'relay', keepFirst: 5, keepLast: 0 } } })).toEqual([expect.stringMatching(/recipient\.phone\.keepFirst: shows more digits of the phone beyond the courier copy's default/)]);
    expect(courierMore({ sender: { name: 'surname', phone: { show: 'masked' }, area: 'routing' }, recipient: { phone: { show: 'masked' } } })).toEqual([
      expect.stringMatching(/recipient\.phone\.show: shows more of the phone beyond the courier copy's default/),
    ]);
    // Tightening loads: no QR, the phone hidden, the area to the city, two digits instead of four.
    expect(() => parseTemplate(JSON.stringify({ ...base, labels: base.labels.map((l: any, i: number) => (i === 0 ? { ...l, sections: [{ ...l.sections[0], policy: { recipient: { phone: { show: 'relay', keepLast: 2 }, area: 'city' } } }] } : l)) }), 'tight.json')).not.toThrow();
  });

  it('refuses binding a phone on a copy whose policy shows none', () => {
    const issues = refusal((t) => office(t).elements.push({ type: 'text', field: 'recipient.phone', x: 5, y: 5, w: 20, h: 5, fontPt: 9 }));
    expect(issues.join('\n')).toMatch(/labels\[2\]\.sections\[0\]\.elements\[\d+\]\.field: the office copy's policy does not show recipient\.phone/);
  });

  it('refuses a QR code on a copy without one', () => {
    const issues = refusal((t) => office(t).elements.push({ type: 'qr', x: 5, y: 5, size: 25 }));
    expect(issues.join('\n')).toMatch(/shows no QR code/);
  });

  it('refuses an element outside its section', () => {
    const issues = refusal((t) => courier(t).elements.push({ type: 'box', x: 90, y: 5, w: 20, h: 5 }));
    expect(issues.join('\n')).toMatch(/elements\[\d+\]: box element lies outside its section/);
  });

  it('refuses fields no view has (a street never reaches paper) and unknown properties', () => {
    const issues = refusal((t) => {
      courier(t).elements.push({ type: 'text', field: 'recipient.street', x: 5, y: 5, w: 20, h: 5, fontPt: 9 });
      courier(t).elements[0].colour = 'red';
    });
    expect(issues.join('\n')).toMatch(/elements\[\d+\]\.field: must be one of: waybillNo, /);
    // Reported like any unknown property: at its object, without the key (which, in an order, can be a name).
    expect(issues.join('\n')).toMatch(/elements\[0\]: unknown property/);
  });

  it('refuses a copy drawn twice', () => {
    const issues = refusal((t) => (t.labels[1].sections[0].copy = 'courier'));
    expect(issues.join('\n')).toMatch(/copy "courier" appears twice/);
  });

  it('refuses broken JSON and names the file', () => {
    expect(() => parseTemplate('{"id": ', 'broken.json')).toThrow(/broken\.json/);
  });

  it('names the available templates for an unknown id', () => {
    expect(() => loadTemplate(TEMPLATES, 'nope')).toThrow(/^unknown template; available: .*cn-4copy/);
    // The id asked for is not quoted back: it may be anything a caller sent.
    expect(() => loadTemplate(TEMPLATES, '13962584017')).toThrow(/^unknown template; available: /);
    expect(() => loadTemplate(TEMPLATES, '13962584017')).not.toThrow(/13962584017/);
  });
});
