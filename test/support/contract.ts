// The contract check: every answer a test gets is recorded (method, path, status, media type, body) and
// checked against the API document — the status documented for the operation, the media type documented
// for that status, and JSON bodies valid against the documented schema (ajv, JSON Schema 2020-12 as
// OpenAPI 3.1 uses it). Use `contractFetch(recorder)` wherever a test talks to a real server.

import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';

export interface Exchange {
  method: string;
  /** The request path without the query. */
  path: string;
  status: number;
  /** The media type without parameters ('' when the answer has no body). */
  mediaType: string;
  body: Buffer;
}

type Media = { schema?: unknown; example?: unknown; examples?: unknown };
export type ApiOperation = { responses: Record<string, { content?: Record<string, Media> }>; requestBody?: { content: Record<string, Media> } };
export type ApiDocument = { paths: Record<string, Record<string, ApiOperation>>; components?: unknown };
type Document = ApiDocument;

export class ContractRecorder {
  readonly exchanges: Exchange[] = [];

  record(e: Exchange): void {
    this.exchanges.push(e);
  }

  /** `METHOD template status` of every recorded answer (to see what a scenario covered). */
  covered(doc: Document): Set<string> {
    return new Set(this.exchanges.map((e) => `${e.method} ${routeOf(doc, e.path) ?? '?'} ${e.status}`));
  }
}

/** A fetch that records every answer (the body is read here; the caller gets an equivalent Response). */
export function contractFetch(recorder: ContractRecorder): (url: string, init?: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const res = await fetch(url, init);
    const body = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    recorder.record({ method: (init?.method ?? 'GET').toUpperCase(), path: new URL(url).pathname, status: res.status, mediaType: type.split(';')[0]!.trim().toLowerCase(), body });
    const copy = new Response(res.status === 204 || res.status === 304 ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
    return copy;
  };
}

/** The document's path template for a request path: literal segments win over parameters. */
export function routeOf(doc: Document, path: string): string | undefined {
  const candidates = Object.keys(doc.paths).filter((t) => new RegExp(`^${t.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
  return candidates.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))[0];
}

const BASE = 'https://contract.test/openapi.json';
const JSON_TYPES = /^application\/(?:[\w.+-]+\+)?json$/;

/** Every way the recorded answers break the document; empty when they all keep it. */
export function contractViolations(doc: Document, exchanges: readonly Exchange[]): string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: BASE, components: doc.components });
  const compiled = new Map<string, ValidateFunction>();
  const problems: string[] = [];
  for (const e of exchanges) {
    const where = `${e.method} ${e.path} → ${e.status}`;
    const route = routeOf(doc, e.path);
    const op = route ? doc.paths[route]?.[e.method.toLowerCase()] : undefined;
    if (!route || !op) {
      problems.push(`${where}: no such operation in the document`);
      continue;
    }
    const responses = op.responses;
    const key = [String(e.status), `${String(e.status)[0]}XX`, 'default'].find((k) => responses[k]);
    if (!key) {
      problems.push(`${where}: status ${e.status} is not documented for ${e.method} ${route}`);
      continue;
    }
    const content = responses[key]!.content;
    if (!content) {
      if (e.body.length > 0) problems.push(`${where}: a body (${e.mediaType}) where the document has none`);
      continue;
    }
    const media = content[e.mediaType];
    if (!media) {
      problems.push(`${where}: media type ${e.mediaType || '(none)'} is not documented (documented: ${Object.keys(content).join(', ')})`);
      continue;
    }
    if (!JSON_TYPES.test(e.mediaType) || media.schema === undefined) continue;
    let value: unknown;
    try {
      value = JSON.parse(e.body.toString('utf8'));
    } catch {
      problems.push(`${where}: the ${e.mediaType} body is not JSON`);
      continue;
    }
    const pointer = `${route}|${e.method}|${key}|${e.mediaType}`;
    let validate = compiled.get(pointer);
    if (!validate) {
      // The schema as it stands in the document, its $refs resolved against the document's components.
      validate = ajv.compile({ $id: `https://contract.test/op/${compiled.size}`, $defs: {}, allOf: [rebase(media.schema)] });
      compiled.set(pointer, validate);
    }
    // Paths and keywords only: the bodies may hold (test) personal data.
    if (!validate(value)) problems.push(`${where}: body does not match the schema: ${(validate.errors ?? []).map((er) => `${er.instancePath || '/'} ${er.keyword} ${JSON.stringify(er.params)}`).join('; ')}`);
  }
  return problems;
}

/** `#/components/…` → `<BASE>#/components/…`, so a schema compiled on its own finds the components. */
function rebase(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema), (k, v: unknown) => (k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${BASE}${v}` : v));
}
