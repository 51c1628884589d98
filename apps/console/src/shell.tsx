import { useState } from 'preact/hooks';
import { canReadConfig, signOut, type SessionInfo } from './api.js';
import { ApisList } from './apis-list.js';
import { Analytics } from './analytics.js';
import { AuditLog } from './audit-log.js';
import { Billing } from './billing.js';
import { ConsumerDetail } from './consumer-detail.js';
import { ConsumersList } from './consumers-list.js';
import { useHashRoute } from './hash-route.js';
import { Logo } from './logo.js';
import { can } from './permissions.js';
import { Plans } from './plans.js';
import { Settings } from './settings.js';

interface Props {
  session: SessionInfo;
  onSignedOut: () => void;
}

const ROLE_LABEL = { admin: 'Admin', operator: 'Operator', viewer: 'Viewer (read only)', billing: 'Billing' } as const;

/** The signed-in frame: navigation, who is signed in with which role, sign-out, and the current screen. */
export function Shell({ session, onSignedOut }: Props) {
  const [signingOut, setSigningOut] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const route = useHashRoute();
  const role = session.role;
  const screen = route[0] ?? (canReadConfig(role) ? 'apis' : 'billing');
  const current = (name: string) => (screen === name ? ('page' as const) : undefined);

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
            {canReadConfig(role) && (
              <li>
                <a href="#apis" aria-current={current('apis')}>
                  APIs
                </a>
              </li>
            )}
            {can(role, 'consumers:read') && (
              <li>
                <a href="#consumers" aria-current={current('consumers')}>
                  Consumers
                </a>
              </li>
            )}
            {can(role, 'config:read') && (
              <li>
                <a href="#plans" aria-current={current('plans')}>
                  Plans
                </a>
              </li>
            )}
            {can(role, 'billing:read') && (
              <li>
                <a href="#billing" aria-current={current('billing')}>
                  Billing
                </a>
              </li>
            )}
            {can(role, 'config:read') && (
              <li>
                <a href="#analytics" aria-current={current('analytics')}>
                  Analytics
                </a>
              </li>
            )}
            {can(role, 'audit:read') && (
              <li>
                <a href="#audit" aria-current={current('audit')}>
                  Audit log
                </a>
              </li>
            )}
            {can(role, 'tokens:manage') && (
              <li>
                <a href="#settings" aria-current={current('settings')}>
                  Settings
                </a>
              </li>
            )}
          </ul>
        </nav>
        <main class="content" id="main">
          {screen === 'apis' && canReadConfig(role) ? (
            <ApisList />
          ) : screen === 'consumers' && can(role, 'consumers:read') ? (
            route[1] !== undefined ? <ConsumerDetail key={route[1]} name={route[1]} role={role} /> : <ConsumersList role={role} />
          ) : screen === 'plans' && can(role, 'config:read') ? (
            <Plans />
          ) : screen === 'billing' && can(role, 'billing:read') ? (
            <Billing />
          ) : screen === 'analytics' && can(role, 'config:read') ? (
            <Analytics />
          ) : screen === 'audit' && can(role, 'audit:read') ? (
            <AuditLog />
          ) : screen === 'settings' && can(role, 'tokens:manage') ? (
            <Settings />
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
