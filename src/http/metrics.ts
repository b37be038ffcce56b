// Prometheus metrics (prom-client) on a registry of our own, so tests can run several apps in one
// process. Labels are routes, formats and outcomes: never a waybill, token, key or person.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PRESENTED_KINDS } from '../auth/authFailure';

export interface RelayPoolReading {
  utilisation(): Promise<{ capacity: number; live: number; quarantined: number }[]>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly waybillsCreated = new Counter({ name: 'waybill_waybills_created_total', help: 'Waybills created', labelNames: ['channel'], registers: [this.registry] });
  readonly labelsRendered = new Counter({ name: 'waybill_labels_rendered_total', help: 'Labels rendered, by format', labelNames: ['format'], registers: [this.registry] });
  readonly renderSeconds = new Histogram({
    name: 'waybill_render_seconds',
    help: 'Time to render one request\'s labels, by format',
    labelNames: ['format'],
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly scans = new Counter({ name: 'waybill_scans_total', help: 'Courier scans, by outcome', labelNames: ['outcome'], registers: [this.registry] });
  // Refused credentials by what was presented (kind only: never an id, address or secret), and those
  // answered 429 because their source address failed too often (authThrottle.ts).
  readonly authFailures = new Counter({ name: 'waybill_auth_failures_total', help: 'Refused credentials, by kind presented', labelNames: ['kind'], registers: [this.registry] });
  readonly authThrottled = new Counter({
    name: 'waybill_auth_throttled_total',
    help: 'Refused credentials answered 429: their source address failed authentication too often',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly relayUnavailable = new Counter({ name: 'waybill_relay_unavailable_total', help: 'Waybills printed without a relay number', registers: [this.registry] });
  readonly httpRequests = new Counter({ name: 'waybill_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly httpSeconds = new Histogram({
    name: 'waybill_http_request_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });

  constructor(relayPool?: RelayPoolReading) {
    collectDefaultMetrics({ register: this.registry, prefix: 'waybill_' });
    // Every kind shows from the start (at 0), so an alert on a rate works before the first failure.
    for (const kind of PRESENTED_KINDS) {
      this.authFailures.inc({ kind }, 0);
      this.authThrottled.inc({ kind }, 0);
    }
    if (relayPool) {
      new Gauge({
        name: 'waybill_relay_pool_slots',
        help: 'Relay number + extension slots, by state',
        labelNames: ['state'],
        registers: [this.registry],
        async collect() {
          const u = await relayPool.utilisation();
          const sum = (k: 'capacity' | 'live' | 'quarantined') => u.reduce((n, x) => n + x[k], 0);
          const capacity = sum('capacity');
          this.set({ state: 'live' }, sum('live'));
          this.set({ state: 'quarantined' }, sum('quarantined'));
          this.set({ state: 'free' }, capacity - sum('live') - sum('quarantined'));
        },
      });
    }
  }
}
