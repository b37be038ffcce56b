// /docs: the full API reference, rendered in the browser by Swagger UI from /openapi.json. The renderer
// comes from npm (swagger-ui-dist) and is served from here, so the page works offline and loads nothing
// from another host; the Content-Security-Policy allows only this origin.

import express from 'express';
import path from 'node:path';

const ASSET_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** The renderer's files the page loads; nothing else of the package is served. */
const ASSETS = new Set(['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png']);

/** Only this origin: scripts, styles and the document itself (images may also be inline data: icons). */
export const DOCS_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Privacy waybill print service — API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<noscript>The reference needs JavaScript; the document itself is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</noscript>
<div id="api"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise send the document to its online validator for a badge.
const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#api', deepLinking: true, validatorUrl: null, tryItOutEnabled: false, defaultModelsExpandDepth: 0 });
});
`;

export function docsRoutes(): express.Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  router.get('/', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(PAGE);
  });
  router.get('/init.js', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.type('text/javascript').send(INIT);
  });
  // The renderer's files change only with the package version: cache them long.
  const files = express.static(ASSET_DIR, { index: false, maxAge: '30d', fallthrough: false });
  router.use('/assets', (req, res, next) => (ASSETS.has(req.path.replace(/^\//, '')) ? files(req, res, next) : next()));
  return router;
}
