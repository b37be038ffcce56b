// The agent's side of the print component (src/agent/component): its printers from the printers file,
// jobs written through the same printer ports as service jobs, and waybills created and previewed on the
// service with a warehouse key (the agent's printer key may not create waybills).

import { WaybillError, type ErrorCode } from '../errors';
import type { Order } from '../order/orderSchema';
import type { ComponentHost, LabelOptions } from './component/componentHost';
import { orderRequestBody } from './component/mapDocument';
import { DEFAULT_PORT_OPTIONS, writeToPrinter, type PortOptions } from './printerPorts';
import type { AgentPrinter } from './printersFile';

export interface AgentHostOptions {
  service: string;
  /** A `warehouse`-role key of the same client (`--component-key` / WAYBILL_AGENT_COMPONENT_KEY). */
  componentKey: string;
  printers: AgentPrinter[];
  ports?: Partial<PortOptions>;
  fetch?: typeof fetch;
}

export function agentHost(opts: AgentHostOptions): ComponentHost {
  const ports: PortOptions = { ...DEFAULT_PORT_OPTIONS, ...opts.ports };
  const doFetch = opts.fetch ?? fetch;
  const base = opts.service.replace(/\/+$/, '');
  const query = (options: LabelOptions) => {
    const q = new URLSearchParams({ format: options.format });
    if (options.dpi !== undefined) q.set('dpi', String(options.dpi));
    if (options.template) q.set('template', options.template);
    if (options.barcodes) q.set('barcodes', options.barcodes);
    if (options.text) q.set('text', options.text);
    return q;
  };
  const request = async (path: string, init: RequestInit = {}) => {
    try {
      return await doFetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${opts.componentKey}`, ...(init.body ? { 'content-type': 'application/json' } : {}) }, signal: AbortSignal.timeout(SERVICE_TIMEOUT_MS) });
    } catch (error) {
      throw unreachable(error);
    }
  };
  const call = async (path: string, order: Order, options: LabelOptions): Promise<Response> => {
    const res = await request(`${path}?${query(options)}`, { method: 'POST', body: JSON.stringify(orderRequestBody(order)) });
    if (!res.ok) throw await refused(res);
    return res;
  };
  return {
    printers: () => opts.printers,
    async send(name, bytes) {
      const p = opts.printers.find((x) => x.name === name);
      if (!p) throw new Error('not a printer of this agent');
      await writeToPrinter(p.connection, bytes, ports);
    },
    async create(order, options) {
      const created = await request(`/v1/waybills?${query(options)}`, { method: 'POST', body: JSON.stringify(orderRequestBody(order)) });
      // The order was printed before (the document again, after the component's 10-minute window): its
      // label again, which the service counts and marks as a reprint (重印 第n次), never a second waybill.
      const printed = created.status === 409 && order.waybillNo ? order.waybillNo : undefined;
      // The refusal's body is let go, or its connection stays taken until it is collected.
      if (printed) await created.body?.cancel();
      const res = printed ? await request(`/v1/waybills/${encodeURIComponent(printed)}/label?${query(options)}`) : created;
      if (!res.ok) throw await refused(res);
      const waybillNo = res.headers.get('waybill-no');
      if (!waybillNo) throw new WaybillError('internal', 'the service answered without a Waybill-No');
      return { waybillNo, bytes: await bodyOf(res) };
    },
    async preview(order, options) {
      return bodyOf(await call('/v1/previews', order, { ...options, format: 'pdf' }));
    },
  };
}

const SERVICE_TIMEOUT_MS = 60_000;

/**
 * Why the service could not be asked (or stopped answering), in our words: fetch's own errors may name
 * the URL and say little a warehouse can act on.
 */
function unreachable(error: unknown, otherwise = 'the service could not be reached'): WaybillError {
  const timedOut = error instanceof Error && error.name === 'TimeoutError';
  return new WaybillError('unavailable', timedOut ? `the service did not answer within ${SERVICE_TIMEOUT_MS / 1000} s` : otherwise);
}

/** A label's or preview's bytes; an answer broken off midway is the service's failure, not the order's. */
async function bodyOf(res: Response): Promise<Buffer> {
  try {
    return Buffer.from(await res.arrayBuffer());
  } catch (error) {
    throw unreachable(error, 'the service broke off its answer');
  }
}

/** The codes of the service's refusals a component shows as they are; anything else is the service's trouble. */
const REFUSALS: Record<number, ErrorCode> = { 400: 'bad_request', 401: 'unauthenticated', 403: 'forbidden', 409: 'conflict', 410: 'gone', 422: 'invalid_input', 429: 'limited' };

/**
 * The service's refusal with its status, detail and field paths: the service's problem details never
 * quote input values, so the component may pass this on to the warehouse software as it is.
 */
async function refused(res: Response): Promise<WaybillError> {
  const code = REFUSALS[res.status] ?? 'unavailable';
  try {
    const p = (await res.json()) as { detail?: unknown; errors?: { path?: unknown }[] };
    const paths = Array.isArray(p.errors) ? p.errors.map((e) => (typeof e.path === 'string' ? e.path : Array.isArray(e.path) ? e.path.join('.') : '')).filter(Boolean) : [];
    return new WaybillError(code, `the service refused (${res.status}${typeof p.detail === 'string' ? `: ${p.detail}` : ''}${paths.length ? `; fields: ${paths.join(', ')}` : ''})`);
  } catch {
    return new WaybillError(code, `the service refused (${res.status})`);
  }
}
