import { fitText, wrap } from '../../src/layout/fitText';

// A monospace stand-in: every character is 1 mm wide per 10 pt.
const measure = (t: string, size: number) => ([...t].length * size) / 10;

describe('shrink-to-fit', () => {
  it('keeps the full size when the text fits', () => {
    expect(fitText({ text: '欧阳**', widthMm: 20, heightMm: 6, maxPt: 12, minPt: 6, maxLines: 1, lineHeight: 1.2 }, measure)).toEqual({
      sizePt: 12,
      lines: ['欧阳**'],
      truncated: false,
    });
  });

  it('shrinks a long name before it would overflow', () => {
    const fit = fitText({ text: 'M*** F*** d*** l*** Á*** G***', widthMm: 30, heightMm: 6, maxPt: 12, minPt: 6, maxLines: 1, lineHeight: 1.2 }, measure);
    expect(fit.truncated).toBe(false);
    expect(fit.sizePt).toBeLessThan(12);
    expect(measure(fit.lines[0]!, fit.sizePt)).toBeLessThanOrEqual(30);
  });

  it('wraps onto the allowed lines, then truncates visibly with an ellipsis, never silently', () => {
    const text = '新疆维吾尔自治区 伊犁哈萨克自治州 伊宁市 某个非常非常长的区县名称 还有更长的乡镇街道名称 再加上村组名称';
    const fit = fitText({ text, widthMm: 20, heightMm: 10, maxPt: 10, minPt: 8, maxLines: 2, lineHeight: 1.2 }, measure);
    expect(fit.truncated).toBe(true);
    expect(fit.lines).toHaveLength(2);
    expect(fit.lines[1]!.endsWith('…')).toBe(true);
    for (const line of fit.lines) expect(measure(line, fit.sizePt)).toBeLessThanOrEqual(20);
  });

  it('breaks Chinese at spaces between place names when it can, else between characters, and Latin between words', () => {
    expect(wrap('浙江省 杭州市 西湖区', 5, (t) => [...t].length)).toEqual(['浙江省', '杭州市', '西湖区']);
    expect(wrap('新疆维吾尔自治区 喀什地区', 5, (t) => [...t].length)).toEqual(['新疆维吾尔', '自治区', '喀什地区']);
    expect(wrap('San Francisco CA 94105', 14, (t) => t.length)).toEqual(['San Francisco', 'CA 94105']);
  });
});
