// The template file format (JSON in templates/, units in mm): labels, the copy sections drawn on them,
// and the elements of each section. One zod schema is the validation, the type and the documentation.

import { z } from 'zod';
import { CopyKind, PartyPolicy } from '../privacy/copyPolicy';
import { LANGS } from '../privacy/lang';
import { TEXT_FIELDS } from '../privacy/privacyView';

const mm = z.number().min(0).max(1000);
const positiveMm = z.number().positive().max(1000);
const fontPt = z.number().min(4).max(72);

const BoxShape = { x: mm, y: mm, w: positiveMm, h: positiveMm };
const Align = z.enum(['left', 'center', 'right']).default('left');

export const TextElement = z
  .object({
    type: z.literal('text'),
    field: z.enum(TEXT_FIELDS),
    ...BoxShape,
    fontPt,
    /** Smallest size shrink-to-fit may use; defaults to 60 % of fontPt, never below 5 pt. */
    minFontPt: fontPt.optional(),
    maxLines: z.number().int().min(1).max(10).default(1),
    align: Align,
    bold: z.boolean().default(false),
    /** Fixed text printed before the value, e.g. "收 ". */
    prefix: z.string().max(20).default(''),
  })
  .strict();

export const StaticElement = z
  .object({ type: z.literal('static'), text: z.string().min(1).max(200), ...BoxShape, fontPt, align: Align, bold: z.boolean().default(false) })
  .strict();

export const LineElement = z
  .object({ type: z.literal('line'), x1: mm, y1: mm, x2: mm, y2: mm, widthMm: z.number().positive().max(5).default(0.3) })
  .strict();

export const BoxElement = z
  .object({ type: z.literal('box'), ...BoxShape, lineMm: z.number().min(0).max(5).default(0.3), fill: z.boolean().default(false) })
  .strict();

/** Code128 of the waybill number, centred in its box with 10-module quiet zones inside the box. */
export const Code128Element = z.object({ type: z.literal('code128'), ...BoxShape }).strict();

/** QR of the token URL; allowed only on copies whose policy shows the QR. */
export const QrElement = z.object({ type: z.literal('qr'), x: mm, y: mm, size: positiveMm }).strict();

export const Element = z.discriminatedUnion('type', [TextElement, StaticElement, LineElement, BoxElement, Code128Element, QrElement]);
export type Element = z.infer<typeof Element>;
export type TextElement = z.infer<typeof TextElement>;

const PolicyOverride = z
  .object({
    qr: z.boolean().optional(),
    sender: PartyPolicy.partial().optional(),
    recipient: PartyPolicy.partial().optional(),
  })
  .strict();

export const Section = z
  .object({
    copy: CopyKind,
    /** Printed as the copyTitle field; defaults per copy and language (派件联, RECIPIENT COPY …). */
    title: z.string().min(1).max(20).optional(),
    /** Offset of the section on its label; element coordinates are relative to it. */
    x: mm.default(0),
    y: mm.default(0),
    w: positiveMm,
    h: positiveMm,
    policy: PolicyOverride.optional(),
    elements: z.array(Element).min(1),
  })
  .strict();
export type Section = z.infer<typeof Section>;

export const Label = z.object({ widthMm: positiveMm, heightMm: positiveMm, sections: z.array(Section).min(1) }).strict();
export type Label = z.infer<typeof Label>;

export const Template = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'must be lower-case letters, digits and dashes'),
    name: z.string().min(1).max(80),
    description: z.string().max(500).optional(),
    lang: z.enum(LANGS),
    /** The printer resolution barcodes are sized for (module = whole dots). */
    dpi: z.union([z.literal(203), z.literal(300)]).default(203),
    labels: z.array(Label).min(1),
  })
  .strict();
export type Template = z.infer<typeof Template>;
