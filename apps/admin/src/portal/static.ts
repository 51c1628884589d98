import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../problem.js';
import { HEX_COLOUR, type PortalSettings } from './portal-settings.js';

/** Where `npm run build` puts the portal (apps/portal/dist), seen from apps/admin/dist/portal/. */
export const DEFAULT_PORTAL_DIR = fileURLToPath(new URL('../../../portal/dist/', import.meta.url));

/**
 * The portal's Content-Security-Policy: as the console's (nothing from another origin, no inline
 * script or style, never framed), except `connect-src` also names the gateway, so the reference
 * docs' "try it" can call it with the developer's key.
 */
export function portalCsp(gatewayUrl: string): string {
  let gateway = '';
  try {
    gateway = ` ${new URL(gatewayUrl).origin}`;
  } catch {
    // an invalid URL is refused by the settings; nothing added
  }
  return ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", `connect-src 'self'${gateway}`, "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"].join('; ');
}

/** A printable invoice (HTML with its own <style>): no script at all, sandboxed (CSP Level 2 `sandbox`). */
const INVOICE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";

const HASHED = /\/assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/** The branding colours as CSS custom properties, served as a file so the CSP needs no inline style. */
export function brandingCss(settings: PortalSettings): string {
  const { primaryColor, accentColor } = settings.branding;
  const safe = (c: string, fallback: string) => (HEX_COLOUR.test(c) ? c : fallback);
  return `:root{--brand:${safe(primaryColor, '#4f46e5')};--accent:${safe(accentColor, '#0ea5e9')}}\n`;
}

/** Security headers on every portal answer, the built app at `/`, the branding at `/branding/…`. */
export async function registerPortalAssets(app: FastifyInstance, settings: PortalSettings, dir: string = DEFAULT_PORTAL_DIR): Promise<void> {
  const csp = portalCsp(settings.gatewayUrl);
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('content-security-policy', request.url.startsWith('/api/invoice') ? INVOICE_CSP : csp);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    return payload;
  });
  app.get('/branding.css', async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(brandingCss(settings)));
  app.get('/branding/logo', async (_request, reply) => {
    const logo = settings.branding.logo;
    if (!logo) throw new ProblemError('NOT_FOUND', 'no logo is set (PORTAL_LOGO_FILE)');
    return reply.type(logo.mediaType).header('cache-control', 'no-cache').send(logo.bytes);
  });
  app.get('/api/branding', async (_request, reply) =>
    reply.header('cache-control', 'no-cache').send({ title: settings.branding.title, hasLogo: settings.branding.logo !== undefined, signup: settings.signup, gatewayUrl: settings.gatewayUrl }),
  );
  if (!existsSync(`${dir}/index.html`)) {
    app.get('/', async () => {
      throw new ProblemError('UNAVAILABLE', 'the portal is not built; run "npm run build" (it builds apps/portal into apps/portal/dist)');
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    decorateReply: false,
    cacheControl: false,
    setHeaders(res, path) {
      res.setHeader('cache-control', HASHED.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
