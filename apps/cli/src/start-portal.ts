import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Logger } from 'pino';
import { buildPortal, createLogMailer, createSmtpMailer, PortalAccounts, type PortalSettings } from '@tollgate/admin';
import type { Database } from '@tollgate/db';
import type { LimitCounters } from '@tollgate/policies';
import type { ApiKeyStore, AuditStore, ConfigStore, OAuthClientStore, PortalAccountStore, SetValidator } from '@tollgate/stores';
import type { Settings } from './start-settings.js';

const LOGO_TYPES: Record<string, string> = { '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg' };

/** Whether this process serves the developer portal: PORTAL=true and a PORTAL_PORT other than 0. */
export function portalEnabled(settings: Settings): boolean {
  return settings.PORTAL && settings.PORTAL_PORT !== 0;
}

/** The portal's settings from the environment (logo read once at start). */
export function portalSettings(settings: Settings): PortalSettings {
  let logo: PortalSettings['branding']['logo'];
  if (settings.PORTAL_LOGO_FILE !== '') {
    const mediaType = LOGO_TYPES[extname(settings.PORTAL_LOGO_FILE).toLowerCase()];
    if (mediaType === undefined) throw new Error(`invalid environment:\n  PORTAL_LOGO_FILE: must be an .svg, .png or .jpg file`);
    logo = { bytes: readFileSync(settings.PORTAL_LOGO_FILE), mediaType };
  }
  return {
    signup: settings.PORTAL_SIGNUP,
    publicUrl: settings.PORTAL_PUBLIC_URL ?? `http://127.0.0.1:${settings.PORTAL_PORT}`,
    gatewayUrl: settings.PORTAL_GATEWAY_URL ?? `http://127.0.0.1:${settings.PROXY_PORT}`,
    branding: { title: settings.PORTAL_TITLE, primaryColor: settings.PORTAL_PRIMARY_COLOR, accentColor: settings.PORTAL_ACCENT_COLOR, ...(logo ? { logo } : {}) },
  };
}

export interface PortalParts {
  store: PortalAccountStore;
  config: ConfigStore;
  validate: SetValidator;
  apiKeys: ApiKeyStore;
  oauthClients: OAuthClientStore;
  audit: AuditStore;
  counters: LimitCounters;
  db: Database;
}

/** The portal's account service (shared with the admin API's approval routes). */
export function createPortalAccounts(settings: Settings, parts: PortalParts, log: Logger): { accounts: PortalAccounts; close: () => void } {
  const mailLog = log.child({ component: 'portal-mail' });
  if (settings.SMTP_URL === undefined) mailLog.warn('SMTP_URL is unset: portal mail (verification and reset links) is written to this log instead of being sent');
  const mailer = settings.SMTP_URL !== undefined ? createSmtpMailer(settings.SMTP_URL, settings.PORTAL_MAIL_FROM) : createLogMailer((mail) => mailLog.info({ to: mail.to, subject: mail.subject, text: mail.text }, 'portal mail (not sent: SMTP_URL unset)'));
  const accounts = new PortalAccounts(parts.store, parts.config, parts.validate, parts.audit, mailer, portalSettings(settings));
  return { accounts, close: () => mailer.close() };
}

/** Starts the portal's own listener; returns its close function. */
export async function startPortalListener(settings: Settings, accounts: PortalAccounts, parts: PortalParts, log: Logger): Promise<() => Promise<void>> {
  const portal = await buildPortal({
    accounts,
    config: parts.config,
    validate: parts.validate,
    apiKeys: parts.apiKeys,
    oauthClients: parts.oauthClients,
    audit: parts.audit,
    counters: parts.counters,
    db: parts.db,
    sessions: { idleMs: settings.CONSOLE_SESSION_IDLE_MS, absoluteMs: settings.CONSOLE_SESSION_MAX_MS },
    trustedProxies: settings.TRUSTED_PROXIES,
    logger: log.child({ component: 'portal' }),
  });
  await portal.listen({ host: settings.PORTAL_HOST, port: settings.PORTAL_PORT });
  log.info({ address: `http://${settings.PORTAL_HOST}:${settings.PORTAL_PORT}`, signup: settings.PORTAL_SIGNUP }, 'developer portal listening');
  return () => portal.close();
}
