// Making a folder and its missing parents. Node 20's recursive mkdirSync never returns where a parent
// cannot hold folders and answers ENOENT for ever (under /proc, say): a mistyped data or output folder
// hung the command at full CPU. Made a level at a time, such a folder fails with its error.

import fs from 'node:fs';
import path from 'node:path';

export function makeFolders(folder: string, mode?: number): void {
  const missing: string[] = [];
  for (let at = path.resolve(folder); !fs.existsSync(at); ) {
    missing.unshift(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const dir of missing) {
    try {
      fs.mkdirSync(dir, mode === undefined ? {} : { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
