// The agent's side of the print component (src/agent/component): its printers from the printers file,
// jobs written through the same printer ports as service jobs, and waybills created and previewed on the
// service with a warehouse key (the agent's printer key may not create waybills).

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
  const request = (path: string, init: RequestInit = {}) =>
    doFetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${opts.componentKey}`, ...(init.body ? { 'content-type': 'application/json' } : {}) }, signal: AbortSignal.timeout(60_000) });
  const call = async (path: string, order: Order, options: LabelOptions): Promise<Response> => {
    const res = await request(`${path}?${query(options)}`, { method: 'POST', body: JSON.stringify(orderRequestBody(order)) });
    if (!res.ok) throw new Error(await problemText(res));
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
      const res = created.status === 409 && order.waybillNo ? await request(`/v1/waybills/${encodeURIComponent(order.waybillNo)}/label?${query(options)}`) : created;
      if (!res.ok) throw new Error(await problemText(res));
      const waybillNo = res.headers.get('waybill-no');
      if (!waybillNo) throw new Error('the service answered without a Waybill-No');
      return { waybillNo, bytes: Buffer.from(await res.arrayBuffer()) };
    },
    async preview(order, options) {
      const res = await call('/v1/previews', order, { ...options, format: 'pdf' });
      return Buffer.from(await res.arrayBuffer());
    },
  };
}

/** The service's problem title and field paths (never the input values, which it does not quote either). */
async function problemText(res: Response): Promise<string> {
  try {
    const p = (await res.json()) as { title?: unknown; detail?: unknown; errors?: { path?: unknown }[] };
    const paths = Array.isArray(p.errors) ? p.errors.map((e) => (typeof e.path === 'string' ? e.path : Array.isArray(e.path) ? e.path.join('.') : '')).filter(Boolean) : [];
    return `the service refused (${res.status}${typeof p.detail === 'string' ? `: ${p.detail}` : ''}${paths.length ? `; fields: ${paths.join(', ')}` : ''})`;
  } catch {
    return `the service refused (${res.status})`;
  }
}
