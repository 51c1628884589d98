import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../problem.js';

/** Where `npm run build` puts the console (apps/console/dist), seen from apps/admin/dist/console/. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

/**
 * The console's Content-Security-Policy: everything from this origin only, no inline script or
 * style, no plugins, not framable (CSP Level 3 `frame-ancestors`, which supersedes X-Frame-Options).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Vite names built assets by content hash (`assets/index-3f9a1c.js`): they never change under a name. */
const HASHED = /\/assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/**
 * Serves the built console at `/console/` on the admin port. Hashed assets are cached for a year
 * (`immutable`, RFC 8246); index.html is revalidated on every load so a new release is picked up.
 * Without a build, `/console/` answers 503 saying how to build it.
 */
export async function registerConsoleAssets(app: FastifyInstance, dir: string = DEFAULT_CONSOLE_DIR): Promise<void> {
  app.addHook('onSend', async (request, reply, payload) => {
    const path = request.url.split('?')[0] ?? '';
    if (path === '/console' || (path.startsWith('/console/') && path !== '/console/session')) {
      reply.header('content-security-policy', CONSOLE_CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-frame-options', 'DENY');
    }
    return payload;
  });
  if (!existsSync(`${dir}/index.html`)) {
    const notBuilt = async () => {
      throw new ProblemError('UNAVAILABLE', 'the console is not built; run "npm run build" (it builds apps/console into apps/console/dist)');
    };
    app.get('/console', { schema: { hide: true } }, notBuilt);
    app.get('/console/*', { schema: { hide: true } }, notBuilt);
    return;
  }
  // The console's relative asset URLs need the trailing slash.
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/', 301));
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/console/',
    decorateReply: false,
    cacheControl: false,
    setHeaders(res, path) {
      res.setHeader('cache-control', HASHED.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
