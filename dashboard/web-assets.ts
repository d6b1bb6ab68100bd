import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root: this file runs from the sources (tests) or from dist/ (installed). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the package root of the dashboard');
    dir = parent;
  }
  return dir;
}

/**
 * The web client: its page and styles (dashboard/web/public), its compiled scripts (dist/web/dashboard/web/src,
 * built by `npm run build` from dashboard/web/src) and uPlot from node_modules. No build step besides tsc. The
 * web build's root is the repository because the page's types come from domain/api by type-only imports; only
 * the page's own scripts are served.
 */
export async function registerWebAssets(app: FastifyInstance): Promise<void> {
  const root = packageRoot();
  const scripts = join(root, 'dist', 'web', 'dashboard', 'web', 'src');
  if (!existsSync(join(scripts, 'main.js'))) {
    app.log.warn({ scripts }, 'the dashboard client is not built: run "npm run build"');
  }
  await app.register(fastifyStatic, { root: join(root, 'dashboard', 'web', 'public'), prefix: '/', index: ['index.html'], wildcard: false });
  await app.register(fastifyStatic, { root: scripts, prefix: '/app/', decorateReply: false, allowedPath: (path) => path.endsWith('.js') || path.endsWith('.js.map') });
  await app.register(fastifyStatic, {
    root: dirname(createRequire(import.meta.url).resolve('uplot')),
    prefix: '/vendor/',
    decorateReply: false,
    allowedPath: (path) => path === '/uPlot.iife.min.js' || path === '/uPlot.min.css',
  });
}
