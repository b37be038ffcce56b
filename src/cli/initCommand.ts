// `waybill init [--demo]`: the data directory with its settings file, so `serve` and every command read
// the same settings. `--demo` puts a demo relay pool in it, as the quick start uses.

import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE_NAME, type Config } from '../config/config';
import { parseOptions, type Io } from './io';
import { makeFolders } from '../folders';

/** Two relay numbers to try the service with; a real pool comes from the telephony provider. */
export const DEMO_SETTINGS = { WAYBILL_RELAY_NUMBERS: '+8617000000001,+8617000000002' };

export function initCommand(args: string[], config: Config, io: Io): number {
  const { values } = parseOptions({ args, options: { demo: { type: 'boolean' } } });
  const file = path.join(config.dataDir, CONFIG_FILE_NAME);
  if (fs.existsSync(file)) {
    // Already set up: an existing settings file is never overwritten, and --demo adds nothing to it.
    io.err(`kept ${file}: it is there already, and is never overwritten${values.demo ? ' (no demo relay pool was added)' : ''}`);
    return 0;
  }
  makeFolders(config.dataDir, 0o700);
  const settings = values.demo ? DEMO_SETTINGS : {};
  fs.writeFileSync(file, JSON.stringify(settings, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  io.err(`wrote ${file}${values.demo ? ': a demo relay pool (replace it with your telephony provider\'s numbers before going live)' : ''}`);
  return 0;
}
