// GET /docs: the interactive API reference (Swagger UI) over /openapi.json, served with its assets from our own
// install so that it works offline.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { dirnameOfPackage, SHORT } from '../http.js';
import { problem } from '../problem.js';

export function docsRoutes() {
  const app = new Hono();
  const swaggerDir = dirnameOfPackage('swagger-ui-dist');
  const assets: Record<string, string> = { 'swagger-ui.css': 'text/css; charset=utf-8', 'swagger-ui-bundle.js': 'text/javascript; charset=utf-8' };
  app.get('/docs', (c) => {
    c.header('cache-control', SHORT);
    return c.html(DOCS_PAGE);
  });
  app.get('/docs/assets/:file', (c) => {
    const file = c.req.param('file');
    const type = assets[file];
    if (!type) return problem(c, 404, `no such asset: ${file}`);
    c.header('cache-control', 'public, max-age=86400');
    c.header('content-type', type);
    return c.body(readFileSync(join(swaggerDir, file)));
  });
  return app;
}

// The reference page is served with its assets from our own install: it works offline.
const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gpuidx API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script></body></html>`;
