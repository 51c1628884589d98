import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from './start-settings.js';
import { portalEnabled, portalSettings } from './start-portal.js';

describe('portal settings', () => {
  it('are off unless PORTAL=true and PORTAL_PORT is not 0', () => {
    expect(portalEnabled(loadSettings({}))).toBe(false);
    expect(portalEnabled(loadSettings({ PORTAL: 'true' }))).toBe(true);
    expect(portalEnabled(loadSettings({ PORTAL: 'true', PORTAL_PORT: '0' }))).toBe(false);
  });

  it('default the public and gateway addresses to this machine, and read the logo once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portal-logo-'));
    writeFileSync(join(dir, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    const s = portalSettings(loadSettings({ PORTAL: 'true', PORTAL_PORT: '9002', PROXY_PORT: '9000', PORTAL_LOGO_FILE: join(dir, 'logo.svg'), PORTAL_TITLE: 'Acme' }));
    expect(s).toMatchObject({ signup: 'approval', publicUrl: 'http://127.0.0.1:9002', gatewayUrl: 'http://127.0.0.1:9000', branding: { title: 'Acme', primaryColor: '#4f46e5' } });
    expect(s.branding.logo?.mediaType).toBe('image/svg+xml');
    writeFileSync(join(dir, 'logo.gif'), 'GIF89a');
    expect(() => portalSettings(loadSettings({ PORTAL_LOGO_FILE: join(dir, 'logo.gif') }))).toThrow(/PORTAL_LOGO_FILE/);
  });

  it('refuse colours that are not hex and unknown sign-up modes', () => {
    expect(() => loadSettings({ PORTAL_PRIMARY_COLOR: 'red;}' })).toThrow(/PORTAL_PRIMARY_COLOR/);
    expect(() => loadSettings({ PORTAL_SIGNUP: 'everyone' })).toThrow(/PORTAL_SIGNUP/);
    expect(() => loadSettings({ SMTP_URL: 'http://mail' })).toThrow(/SMTP_URL/);
  });
});
