import { describe, expect, it } from 'vitest';
import { brandingCss, portalCsp } from './static.js';
import type { PortalSettings } from './portal-settings.js';

const settings = (primaryColor: string, accentColor: string): PortalSettings => ({ signup: 'open', publicUrl: 'http://p', gatewayUrl: 'http://g', branding: { title: 't', primaryColor, accentColor } });

describe('portal assets', () => {
  it('allow connections to the gateway origin only, besides the portal itself', () => {
    expect(portalCsp('https://api.example.com:8443/base/path')).toContain("connect-src 'self' https://api.example.com:8443;");
    expect(portalCsp('https://api.example.com')).toContain("script-src 'self'; style-src 'self';");
    expect(portalCsp('not a url')).toContain("connect-src 'self';");
  });

  it('serve the brand colours as CSS variables, refusing anything that is not a hex colour', () => {
    expect(brandingCss(settings('#0f766e', '#f59e0b'))).toBe(':root{--brand:#0f766e;--accent:#f59e0b}\n');
    expect(brandingCss(settings('red;}body{display:none', '#abc'))).toBe(':root{--brand:#4f46e5;--accent:#abc}\n');
  });
});
