import { useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { signOut, type SessionInfo } from './api.js';
import { Analytics } from './analytics.js';
import { ApiPage } from './api-page.js';
import { ApisList } from './apis-list.js';
import { AuditLog } from './audit-log.js';
import { Billing } from './billing.js';
import { ConsumerDetail } from './consumer-detail.js';
import { ConsumersList } from './consumers-list.js';
import { useHashRoute } from './hash-route.js';
import { ImportScreen } from './import-screen.js';
import { Logo } from './logo.js';
import { Overview } from './overview.js';
import { can, type Permission } from './permissions.js';
import { Plans } from './plans.js';
import { Settings } from './settings.js';
import { UpstreamsScreen } from './upstreams-screen.js';

interface Props {
  session: SessionInfo;
  onSignedOut: () => void;
}

const ROLE_LABEL = { admin: 'Admin', operator: 'Operator', viewer: 'Viewer (read only)', billing: 'Billing' } as const;

/** One console screen: its hash id, menu label, the permission that shows it, and its content. */
interface Screen {
  readonly id: string;
  readonly label: string;
  readonly needs: Permission;
  readonly render: (route: string[], session: SessionInfo) => JSX.Element;
}

/** The menu, in order. The server enforces the same permissions; this only hides what a role cannot use. */
const SCREENS: readonly Screen[] = [
  { id: 'overview', label: 'Overview', needs: 'config:read', render: () => <Overview /> },
  {
    id: 'apis',
    label: 'APIs',
    needs: 'config:read',
    render: (route, s) => (route[1] !== undefined ? <ApiPage key={route[1]} name={route[1]} canWrite={can(s.role, 'config:write')} /> : <ApisList />),
  },
  { id: 'import', label: 'Import', needs: 'config:write', render: (_r, s) => <ImportScreen canWrite={can(s.role, 'config:write')} /> },
  { id: 'upstreams', label: 'Upstreams', needs: 'config:read', render: () => <UpstreamsScreen /> },
  {
    id: 'consumers',
    label: 'Consumers',
    needs: 'consumers:read',
    render: (route, s) => (route[1] !== undefined ? <ConsumerDetail key={route[1]} name={route[1]} role={s.role} /> : <ConsumersList role={s.role} />),
  },
  { id: 'plans', label: 'Plans', needs: 'config:read', render: () => <Plans /> },
  { id: 'billing', label: 'Billing', needs: 'billing:read', render: () => <Billing /> },
  { id: 'analytics', label: 'Analytics', needs: 'config:read', render: () => <Analytics /> },
  { id: 'audit', label: 'Audit log', needs: 'audit:read', render: () => <AuditLog /> },
  { id: 'settings', label: 'Settings', needs: 'tokens:manage', render: () => <Settings /> },
];

/** The signed-in frame: navigation, who is signed in with which role, sign-out, and the current screen. */
export function Shell({ session, onSignedOut }: Props) {
  const [signingOut, setSigningOut] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const route = useHashRoute();
  const role = session.role;
  const allowed = SCREENS.filter((s) => can(role, s.needs));
  // The landing screen is the first one the role may use: Overview for config readers, Billing for the billing role.
  const screenId = route[0] ?? (can(role, 'billing:read') && !can(role, 'config:read') ? 'billing' : allowed[0]?.id);
  const screen = allowed.find((s) => s.id === screenId);

  const leave = async () => {
    setSigningOut(true);
    try {
      await signOut();
      onSignedOut();
    } catch (err) {
      setError(err instanceof Error ? err.message : 'Sign-out failed.');
      setSigningOut(false);
    }
  };

  return (
    <div class="shell">
      <header class="topbar">
        <div class="brand">
          <Logo />
          <span>Tollgate</span>
        </div>
        <div class="who">
          <span class="who-name" title="Admin token name">
            {session.name}
          </span>
          <span class={`role role-${session.role}`}>{ROLE_LABEL[session.role]}</span>
          <button type="button" class="secondary" onClick={leave} disabled={signingOut}>
            {signingOut ? 'Signing out…' : 'Sign out'}
          </button>
        </div>
      </header>
      {error !== undefined && (
        <p class="error banner" role="alert">
          {error}
        </p>
      )}
      <div class="body">
        <nav class="sidenav" aria-label="Console">
          <ul>
            {allowed.map((s) => (
              <li key={s.id}>
                <a href={`#${s.id}`} aria-current={s.id === screenId ? 'page' : undefined}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main class="content" id="main">
          {screen !== undefined ? (
            screen.render(route, session)
          ) : (
            <section class="state">
              <h1>Nothing to show here</h1>
              <p class="muted">This screen does not exist or the {role} role cannot use it. Pick one from the menu.</p>
            </section>
          )}
        </main>
      </div>
    </div>
  );
}
