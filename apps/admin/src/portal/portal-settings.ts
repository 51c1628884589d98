/**
 * Who may create a portal account: `closed` (nobody; operators invite no one either),
 * `invite` (only with an invitation an operator sent), `approval` (anyone, active once an
 * operator approves), `open` (anyone, active once the email is verified).
 */
export const SIGNUP_MODES = ['closed', 'invite', 'approval', 'open'] as const;
export type SignupMode = (typeof SIGNUP_MODES)[number];

/** Title, logo and colours of the portal. */
export interface PortalBranding {
  title: string;
  /** Bytes and media type of the logo (PORTAL_LOGO_FILE), served at /branding/logo; none shows the title only. */
  logo?: { bytes: Buffer; mediaType: string };
  /** CSS colours (`#rrggbb`). */
  primaryColor: string;
  accentColor: string;
}

/** Settings of one developer portal. */
export interface PortalSettings {
  signup: SignupMode;
  /** The portal's public address (links in mail), e.g. `https://developer.example.com`. */
  publicUrl: string;
  /** The gateway's public address, shown in reference docs and used by "try it". */
  gatewayUrl: string;
  branding: PortalBranding;
  /** Lifetime of verification and reset links (ms, default 24 h) and of invitations (7 days). */
  tokenTtlMs?: number;
  inviteTtlMs?: number;
}

/** `#rgb` or `#rrggbb`: the only colour syntax accepted, so a setting cannot inject CSS. */
export const HEX_COLOUR = /^#(?:[0-9a-fA-F]{3}){1,2}$/;
