// Browser apps the service serves itself (/courier, /station): the files of one folder under web/, read
// and gzipped once at start, served with a strict Content-Security-Policy (this origin only, no inline
// code), so a page can load nothing from elsewhere and run nothing it did not ship with.

import express from 'express';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PACKAGE_ROOT } from '../config/config';

export const WEB_DIR = path.join(PACKAGE_ROOT, 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export const APP_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
}

export interface WebAppOptions {
  /** Folders under web/ whose files are served at the app's root (later folders win on a clash). */
  folders: string[];
  /** More files by URL path (e.g. a decoder from node_modules): '/vendor/x.js' → absolute file. */
  extra?: Record<string, string>;
  /** Headers for every file (e.g. Service-Worker-Allowed, Permissions-Policy). */
  headers?: Record<string, string>;
}

function asset(file: string): Asset {
  const body = fs.readFileSync(file);
  return { type: TYPES[path.extname(file)] ?? 'application/octet-stream', body, gzip: gzipSync(body, { level: 9 }) };
}

/** Every file of the folders and the extras, keyed by URL path ('/' for index.html). */
export function loadWebApp(options: WebAppOptions): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const folder of options.folders) {
    const dir = path.join(WEB_DIR, folder);
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      if (fs.statSync(file).isFile()) assets.set(name === 'index.html' ? '/' : `/${name}`, asset(file));
    }
  }
  for (const [url, file] of Object.entries(options.extra ?? {})) assets.set(url, asset(file));
  return assets;
}

export function webAppRoutes(options: WebAppOptions): express.Router {
  const assets = loadWebApp(options);
  const router = express.Router({ strict: true });
  router.get('/{*file}', (req, res, next) => {
    // The app lives at a folder URL, so relative links and the service worker's scope resolve under it.
    if (req.path === '/' && !req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(301, `${req.baseUrl}/`);
    const a = assets.get(req.path);
    if (!a) return next();
    res.setHeader('Content-Security-Policy', APP_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    // Revalidated on every load: a new release is never hidden behind a stale copy.
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Vary', 'Accept-Encoding');
    for (const [k, v] of Object.entries(options.headers ?? {})) res.setHeader(k, v);
    res.type(a.type);
    if (req.acceptsEncodings('gzip') === 'gzip') {
      res.setHeader('Content-Encoding', 'gzip');
      return res.send(a.gzip);
    }
    return res.send(a.body);
  });
  return router;
}
