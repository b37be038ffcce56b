// The webhook delivery worker `serve` runs beside the purge sweep: a pass every WAYBILL_WEBHOOK_POLL_MS
// (at once again when a pass found work). All state is in the outbox, so nothing is lost when the process
// dies: a claim it held expires and another pass (here after a restart, or another instance) takes it.

import { deliverDue, type WebhookDeliveryDeps } from '../webhooks/webhooks';

export interface WebhookRunner {
  /** Stops scheduling passes and waits for the running one. */
  stop(): Promise<void>;
}

export function startWebhookDeliveries(deps: WebhookDeliveryDeps, pollMs: number, log: (entry: Record<string, unknown>) => void): WebhookRunner {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    let sent = 0;
    try {
      sent = await deliverDue(deps);
    } catch (e) {
      log({ event: 'webhook_pass_failed', error: (e as Error).name });
    }
    if (!stopped) timer = setTimeout(() => (running = pass()), sent >= deps.batch ? 0 : pollMs);
  };
  running = pass();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
