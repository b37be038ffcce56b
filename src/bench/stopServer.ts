// Stopping a benchmarked `waybill serve` child the way an orchestrator would.

import type { ChildProcess } from 'node:child_process';

/** SIGTERM (the service finishes running requests and closes its store), SIGKILL if it takes too long. */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}
