// What a test print needs besides its store and audit log: fresh throw-away keys, the scan URL base,
// the bundled fonts' metrics and a lifetime; and, for prints whose store does not matter, a store that
// accepts every number and code and keeps what is saved.

import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../../src/audit/auditLog';
import { fontMetrics } from '../../src/layout/textMeasure';
import type { PrintDeps } from '../../src/printing/printWaybills';
import type { WaybillRecord, WaybillStore } from '../../src/waybills/waybillStore';

export function printDeps(parts: Pick<PrintDeps, 'store' | 'audit'> & Partial<PrintDeps>): PrintDeps {
  const keys = { ring: { activeKeyId: 'k', keys: new Map([['k', randomBytes(32)]]) }, tokenKey: randomBytes(32) };
  return { keys, scanBaseUrl: 'https://scan.example.com', metrics: fontMetrics, maxLifetimeDays: 90, ...parts };
}

/** A store with nothing behind it: every waybill number and copy code is free; saved waybills are kept in `saved`. */
export function memoryPrintStore(): { store: WaybillStore; audit: AuditLog; saved: WaybillRecord[] } {
  const saved: WaybillRecord[] = [];
  const store = {
    waybillNoExists: async () => false,
    copyCodesTaken: async () => [],
    savePrintJob: async (_job: unknown, waybills: WaybillRecord[]) => void saved.push(...waybills),
    recordAlert: async () => {},
  } as unknown as WaybillStore;
  return { store, audit: { append: async () => {}, appendAll: async () => [], chain: () => () => [] } as unknown as AuditLog, saved };
}
