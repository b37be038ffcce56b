// `npm run build`'s last step: dist/cli.js, as tsc compiled it, becomes one file holding our modules and
// the pure-JavaScript packages every command loads. Node resolves, stats and reads each module file on its
// own: some 650 files for a PDF print (kysely alone is 260), a tenth of a one-order print's time.
// Everything else stays a package required at run time (BUNDLED says why). The compiled modules stay in
// dist/ beside it (scripts and tools use them); the CLI no longer loads them.

import { build, type Plugin } from 'esbuild';
import path from 'node:path';

/**
 * Packages copied into the bundle: pure JavaScript, loaded by every command, read no files of their own.
 * The rest stay external: native addons (better-sqlite3, sharp), packages that read files beside their
 * code (pdfkit's metrics, the fonts, swagger-ui, jsQR's browser file), fontkit (pdfkit must see the same
 * font classes as ours), the barcode encoders (the render thread requires them by path, and their 2 MB
 * would be parsed by every start) and the packages of other commands (server, agent, webhooks, PostgreSQL).
 */
export const BUNDLED: ReadonlySet<string> = new Set(['kysely', 'zod', 'libphonenumber-js', 'jsonc-parser', 'ipaddr.js', 'fastest-levenshtein', 'cli-progress', 'uuid']);

const DIST = path.join(__dirname, '..');
const ENTRY = path.join(DIST, 'cli.js');

/** A bare import ("zod", "zod/v4/core", "@scope/name/x") → its package name. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    // Bare imports only: relative and absolute paths are our own modules (or a bundled package's).
    b.onResolve({ filter: /^[^./]/ }, (args) => (BUNDLED.has(packageOf(args.path)) ? undefined : { path: args.path, external: true }));
  },
};

export async function bundleCli(): Promise<void> {
  await build({
    entryPoints: [ENTRY],
    outfile: ENTRY,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // jsonc-parser's "main" is a UMD build whose require calls a bundler cannot follow; its "module" is plain ESM.
    mainFields: ['module', 'main'],
    plugins: [externalPackages],
    // Chains tsc's maps: a stack trace still leads to src/ under --enable-source-maps.
    sourcemap: true,
    logLevel: 'warning',
  });
}

if (require.main === module) {
  bundleCli().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
