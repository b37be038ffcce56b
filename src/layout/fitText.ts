// Fits text into a box: wraps (CJK between any characters, other scripts between words), shrinks the
// size step by step down to a minimum, and only then truncates with a visible ellipsis — never clips.

import { ptToMm } from './units';

export interface FitRequest {
  text: string;
  widthMm: number;
  heightMm: number;
  maxPt: number;
  minPt: number;
  maxLines: number;
  lineHeight: number; // multiple of the font size
}

export interface FitResult {
  sizePt: number;
  lines: string[];
  truncated: boolean;
}

export type MeasureMm = (text: string, sizePt: number) => number;

const STEP_PT = 0.5;
const ELLIPSIS = '…';

export function fitText(req: FitRequest, measure: MeasureMm): FitResult {
  for (let size = req.maxPt; size >= req.minPt - 1e-9; size -= STEP_PT) {
    const lines = wrap(req.text, req.widthMm, (t) => measure(t, size));
    if (lines.length <= linesThatFit(req, size)) return { sizePt: size, lines, truncated: false };
  }
  const size = req.minPt;
  const allowed = Math.max(1, linesThatFit(req, size));
  const lines = wrap(req.text, req.widthMm, (t) => measure(t, size)).slice(0, allowed);
  let last = lines[allowed - 1] ?? '';
  while (last.length > 0 && measure(last + ELLIPSIS, size) > req.widthMm) last = [...last].slice(0, -1).join('');
  lines[allowed - 1] = last.trimEnd() + ELLIPSIS;
  return { sizePt: size, lines, truncated: true };
}

function linesThatFit(req: FitRequest, sizePt: number): number {
  return Math.min(req.maxLines, Math.floor((req.heightMm + 1e-9) / ptToMm(sizePt * req.lineHeight)));
}

const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\u3000-\\u303f\\uff00-\\uffef';
const TOKEN = new RegExp(`[${CJK}]|[^\\s${CJK}]+\\s*|\\s+`, 'gu');
const CJK_CHAR = new RegExp(`^[${CJK}]$`, 'u');
const isCjk = (token: string) => CJK_CHAR.test(token);

/** Break opportunities: after each CJK character, and at spaces between other words. */
function tokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

export function wrap(text: string, widthMm: number, width: (t: string) => number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const token of tokens(text.replace(/\s+/g, ' ').trim())) {
    if (width((line + token).trimEnd()) <= widthMm) {
      line += token;
      continue;
    }
    // Rather than split a Chinese place name, carry the words after the line's last space over.
    const lastSpace = line.trimEnd().lastIndexOf(' ');
    const carried = line.slice(lastSpace + 1) + token;
    if (isCjk(token) && lastSpace > 0 && width(carried) <= widthMm) {
      lines.push(line.slice(0, lastSpace).trimEnd());
      line = carried;
      continue;
    }
    if (line.trim()) lines.push(line.trimEnd());
    line = token.trimStart();
    // A single word wider than the box is broken between characters.
    while (width(line.trimEnd()) > widthMm && [...line].length > 1) {
      const chars = [...line];
      let n = chars.length - 1;
      while (n > 1 && width(chars.slice(0, n).join('')) > widthMm) n--;
      lines.push(chars.slice(0, n).join(''));
      line = chars.slice(n).join('');
    }
  }
  if (line.trim()) lines.push(line.trimEnd());
  return lines;
}
