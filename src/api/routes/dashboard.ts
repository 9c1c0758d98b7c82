// The dashboard: a read-only page at / over this same API, with its chart (uPlot) and Markdown (marked) libraries
// served from our own install, so that it works offline and with no CDN. Its files live in dashboard/.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { problem } from '../problem.js';

const DASHBOARD_DIR = join(import.meta.dirname, '..', '..', '..', 'dashboard');

export function dashboardRoutes() {
  const require = createRequire(import.meta.url);
  const files: Record<string, { path: string; type: string }> = {
    'app.js': { path: join(DASHBOARD_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
    'style.css': { path: join(DASHBOARD_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
    'uplot.js': { path: join(dirname(require.resolve('uplot/package.json')), 'dist', 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
    'uplot.css': { path: join(dirname(require.resolve('uplot/package.json')), 'dist', 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
    'marked.js': { path: join(dirname(require.resolve('marked/package.json')), 'lib', 'marked.umd.js'), type: 'text/javascript; charset=utf-8' },
  };
  // Read once: they are part of the install, like the code.
  const bodies = new Map(Object.entries(files).map(([name, f]) => [name, readFileSync(f.path)]));
  const page = readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8');
  const app = new Hono();
  app.get('/', (c) => {
    c.header('cache-control', 'public, max-age=60');
    return c.html(page);
  });
  app.get('/dashboard/:file', (c) => {
    const name = c.req.param('file');
    const f = files[name];
    if (!f) return problem(c, 404, `no such dashboard file: ${name}`);
    c.header('cache-control', 'public, max-age=3600');
    c.header('content-type', f.type);
    return c.body(bodies.get(name)!);
  });
  return app;
}
