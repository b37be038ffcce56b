// Loads a template file and refuses, with file and path, anything that would print wrong: schema
// errors, elements outside their section, fields or a QR the copy's policy hides, and policies below
// the GB/T 41833-2022 floor or showing more than their copy's default.

import fs from 'node:fs';
import path from 'node:path';
import { WaybillError, type Issue } from '../errors';
import { CopyPolicy, DEFAULT_POLICIES, policyFloorViolations, policyLoosenings, type CopyKind } from '../privacy/copyPolicy';
import type { Lang } from '../privacy/lang';
import { issuesFromZod } from '../validation/zodIssues';
import { parseJsonText } from '../validation/jsonText';
import type { TextField } from '../privacy/privacyView';
import { Template, type Element, type Section } from './templateSchema';

export interface ResolvedSection extends Omit<Section, 'policy' | 'title'> {
  title: string;
  policy: CopyPolicy;
}

export interface LoadedTemplate extends Omit<Template, 'labels'> {
  labels: { widthMm: number; heightMm: number; sections: ResolvedSection[] }[];
  copies: CopyKind[];
}

const TITLES: Record<Lang, Record<CopyKind, string>> = {
  zh: { courier: '派件联', recipient: '收件联', office: '网点存根', sender: '寄件联' },
  en: { courier: 'COURIER COPY', recipient: 'RECIPIENT COPY', office: 'OFFICE COPY', sender: 'SENDER COPY' },
};

const EPSILON_MM = 0.01;

export function listTemplates(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function loadTemplate(dir: string, id: string): LoadedTemplate {
  const file = path.join(dir, `${id}.json`);
  if (!/^[a-z0-9][a-z0-9-]{1,40}$/.test(id) || !fs.existsSync(file)) {
    // The id is not quoted: like every value a caller sent, it may be anything.
    throw new WaybillError('unknown_template', `unknown template; available: ${listTemplates(dir).join(', ')}`);
  }
  return parseTemplate(fs.readFileSync(file, 'utf8'), path.basename(file));
}

export function parseTemplate(text: string, file: string): LoadedTemplate {
  const fail = (issues: Issue[]): never => {
    throw new WaybillError('invalid_template', `template ${file} is invalid`, issues);
  };
  const json = parseJsonText(text);
  if (!json.ok) fail([{ file, path: [], message: json.why }]);
  const parsed = Template.safeParse(json.ok ? json.value : undefined);
  if (!parsed.success) fail(issuesFromZod(parsed.error).map((i) => ({ file, ...i })));
  const template = parsed.data!;

  const issues: Issue[] = [];
  const seen = new Set<CopyKind>();
  const labels = template.labels.map((label, li) => ({
    ...label,
    sections: label.sections.map((section, si): ResolvedSection => {
      const at = ['labels', li, 'sections', si];
      if (seen.has(section.copy)) issues.push({ file, path: [...at, 'copy'], message: `copy "${section.copy}" appears twice` });
      seen.add(section.copy);
      if (!inside(section, { x: 0, y: 0, w: label.widthMm, h: label.heightMm }))
        issues.push({ file, path: at, message: 'section lies outside its label' });
      const policy = resolvePolicy(section, file, at, issues);
      section.elements.forEach((element, ei) => checkElement(element, section, policy, file, [...at, 'elements', ei], issues));
      return { ...section, title: section.title ?? TITLES[template.lang][section.copy], policy };
    }),
  }));
  if (issues.length) fail(issues);
  return { ...template, labels, copies: [...seen] };
}

function resolvePolicy(section: Section, file: string, at: (string | number)[], issues: Issue[]): CopyPolicy {
  const base = DEFAULT_POLICIES[section.copy];
  const o = section.policy ?? {};
  const merged = CopyPolicy.parse({
    qr: o.qr ?? base.qr,
    sender: { ...base.sender, ...o.sender },
    recipient: { ...base.recipient, ...o.recipient },
  });
  const floor = policyFloorViolations(merged);
  // A phone rule below the floor is refused as such, not also as more than the default.
  const looser = policyLoosenings(section.copy, merged).filter((l) => !floor.some((f) => f.path.every((p, k) => l.path[k] === p)));
  for (const v of [...floor, ...looser]) issues.push({ file, path: [...at, 'policy', ...v.path], message: v.message });
  return merged;
}

/** Fields a policy hides must not be bound, so a template cannot quietly print an empty slot. */
function allowedField(field: TextField, policy: CopyPolicy): boolean {
  const [who, part] = field.split('.') as ['sender' | 'recipient', string];
  if (who !== 'sender' && who !== 'recipient') return true;
  if (part === 'phone') return policy[who].phone.show !== 'none';
  if (part === 'area') return policy[who].area !== 'none';
  return true;
}

function checkElement(element: Element, section: Section, policy: CopyPolicy, file: string, at: (string | number)[], issues: Issue[]): void {
  const bounds = { x: 0, y: 0, w: section.w, h: section.h };
  const box =
    element.type === 'line'
      ? { x: Math.min(element.x1, element.x2), y: Math.min(element.y1, element.y2), w: Math.abs(element.x2 - element.x1), h: Math.abs(element.y2 - element.y1) }
      : element.type === 'qr'
        ? { x: element.x, y: element.y, w: element.size, h: element.size }
        : element;
  if (!inside(box, bounds)) issues.push({ file, path: at, message: `${element.type} element lies outside its section` });
  if (element.type === 'text' && !allowedField(element.field, policy))
    issues.push({ file, path: [...at, 'field'], message: `the ${section.copy} copy's policy does not show ${element.field}` });
  if (element.type === 'qr' && !policy.qr) issues.push({ file, path: at, message: `the ${section.copy} copy's policy shows no QR code` });
  if (element.type === 'text' && element.minFontPt !== undefined && element.minFontPt > element.fontPt)
    issues.push({ file, path: [...at, 'minFontPt'], message: 'must not exceed fontPt' });
}

function inside(b: { x: number; y: number; w: number; h: number }, outer: { x: number; y: number; w: number; h: number }): boolean {
  return b.x >= outer.x - EPSILON_MM && b.y >= outer.y - EPSILON_MM && b.x + b.w <= outer.x + outer.w + EPSILON_MM && b.y + b.h <= outer.y + outer.h + EPSILON_MM;
}

/**
 * A template narrowed to some of its copies and/or set to another printer resolution, per request; a copy
 * it lacks is refused at `copiesPath` (a body's `copies`, a query's `query.copies`).
 */
export function tailorTemplate(t: LoadedTemplate, opts: { copies?: readonly CopyKind[]; dpi?: Template['dpi'] }, copiesPath: string[] = ['copies']): LoadedTemplate {
  const unknown = (opts.copies ?? []).filter((c) => !t.copies.includes(c));
  if (unknown.length)
    throw new WaybillError('invalid_input', `template ${t.id} has no ${unknown.join(', ')} copy`, [
      { path: copiesPath, message: `must be some of ${t.copies.join(', ')}` },
    ]);
  const wanted = new Set(opts.copies?.length ? opts.copies : t.copies);
  const labels = t.labels
    .map((l) => ({ ...l, sections: l.sections.filter((s) => wanted.has(s.copy)) }))
    .filter((l) => l.sections.length > 0);
  return { ...t, dpi: opts.dpi ?? t.dpi, labels, copies: t.copies.filter((c) => wanted.has(c)) };
}
