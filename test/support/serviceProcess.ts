// A real `waybill serve` in its own Node process (the TypeScript sources through the same transpiling
// hook as raceProcesses), for tests that run several service instances side by side.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PREAMBLE } from './raceProcesses';

const ROOT = path.join(__dirname, '..', '..');

export interface ServiceProcess {
  url: string;
  /** SIGTERM, as an orchestrator would; resolves with the exit code once the process has drained and exited. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash or the OOM killer would: no drain, no clean-up; resolves once it is gone. */
  kill(): Promise<void>;
  /** What the process has written to stderr so far (start-up lines, warnings, a failure's message). */
  stderr(): string;
}

export async function startServiceProcess(env: NodeJS.ProcessEnv): Promise<ServiceProcess> {
  const script = `${PREAMBLE}
    src('cli.ts').main(['serve', '--port', '0']).then((code) => { process.exitCode = code; });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start: ${stderr}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening: ${stderr}`));
    });
  });
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(kill);
      return code;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stderr: () => stderr,
  };
}
