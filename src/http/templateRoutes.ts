// The label templates this service prints with: what an integrator chooses with `?template=`, with
// the label size, the copies each waybill prints and the resolution barcodes are sized for.

import express from 'express';
import { z } from 'zod';
import { listTemplates, type LoadedTemplate } from '../layout/loadTemplate';
import { LANGS } from '../privacy/lang';
import { CopyKind } from '../privacy/copyPolicy';
import { present } from '../validation/present';
import { requireRole, type AuthDeps } from './auth';
import { noQuery } from './labelFormat';

export const TemplateInfo = z.object({
  id: z.string(),
  name: z.string(),
  lang: z.enum(LANGS),
  size: z.object({ widthMm: z.number(), heightMm: z.number() }).strict().describe('of each label (the first, where a template has several sizes)'),
  labels: z.number().int().describe('labels printed per waybill'),
  copies: z.array(CopyKind).describe('the copies each waybill prints, in order'),
  dpi: z.number().int().describe('the resolution barcodes are sized for (a request may ask another)'),
  default: z.boolean().describe('used when a request names no template'),
}).strict();
export const TemplateList = z.object({ items: z.array(TemplateInfo) }).strict();

export interface TemplateRouteDeps {
  auth: AuthDeps;
  limit: express.RequestHandler;
  templatesDir: string;
  template: (id: string) => LoadedTemplate;
  defaultTemplate: string;
}

export function templateRoutes(deps: TemplateRouteDeps): express.Router {
  const router = express.Router();
  router.get('/', requireRole(deps.auth, 'warehouse', 'printer', 'admin'), deps.limit, noQuery, (_req, res) => {
    const items = listTemplates(deps.templatesDir).map((id) => infoOf(deps.template(id), id === deps.defaultTemplate));
    res.json(present(TemplateList, { items }));
  });
  return router;
}

export function infoOf(t: LoadedTemplate, isDefault: boolean): z.infer<typeof TemplateInfo> {
  const first = t.labels[0]!;
  return { id: t.id, name: t.name, lang: t.lang, size: { widthMm: first.widthMm, heightMm: first.heightMm }, labels: t.labels.length, copies: t.copies, dpi: t.dpi, default: isDefault };
}
