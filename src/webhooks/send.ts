// Sending one webhook request (an effect, used by the delivery worker): the URL's host is resolved and
// every address checked against WAYBILL_WEBHOOK_NETWORKS (the printers' policy, src/printers/networkPolicy.ts),
// then undici connects to the checked address (its connect.lookup answers with it), so a DNS answer that
// changes in between cannot redirect the request. Redirects are not followed: they would leave the policy.

import net from 'node:net';
import { checkHost, type LookupAll, type NetworkPolicy, lookupAll } from '../printers/networkPolicy';
import type { SendOutcome, WebhookSend } from './webhooks';

export function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

export function webhookSender(policy: NetworkPolicy, timeoutMs: number, resolve: LookupAll = lookupAll): WebhookSend {
  return async (target, headers, body): Promise<SendOutcome> => {
    const url = new URL(target);
    const checked = await checkHost(url.hostname, defaultPort(url), policy, resolve);
    if ('refusal' in checked)
      return { ok: false, error: checked.refusal.kind === 'unresolved' ? 'host name not found' : `refused by the network policy (${checked.refusal.kind}); nothing was sent` };
    const address = checked.address;
    const family = net.isIP(address);
    // undici loads with the first send: a command that sends nothing (a print) does not pay for it.
    const { Agent, fetch } = await import('undici');
    const dispatcher = new Agent({
      connect: {
        timeout: timeoutMs,
        lookup: ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
          options?.all ? callback(null, [{ address, family }]) : callback(null, address, family)) as never,
      },
    });
    try {
      const res = await fetch(url, { method: 'POST', headers, body, dispatcher, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel().catch(() => {});
      return res.status >= 200 && res.status < 300 ? { ok: true } : { ok: false, error: `answered ${res.status}` };
    } catch (e) {
      const name = (e as Error).name;
      return { ok: false, error: name === 'TimeoutError' || name === 'AbortError' ? 'no answer within the timeout' : 'connection failed' };
    } finally {
      void dispatcher.destroy().catch(() => {});
    }
  };
}

/** Why an endpoint URL may not be registered (resolved and checked now; again before every send), or undefined. */
export async function endpointUrlRefusal(target: string, policy: NetworkPolicy, resolve: LookupAll = lookupAll): Promise<string | undefined> {
  const url = new URL(target);
  const checked = await checkHost(url.hostname, defaultPort(url), policy, resolve);
  return 'refusal' in checked ? `host ${checked.refusal.message}` : undefined;
}
