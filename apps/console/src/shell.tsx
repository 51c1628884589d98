import { useState } from 'preact/hooks';
import { canReadConfig, signOut, type SessionInfo } from './api.js';
import { ApisList } from './apis-list.js';
import { Logo } from './logo.js';

interface Props {
  session: SessionInfo;
  onSignedOut: () => void;
}

const ROLE_LABEL = { admin: 'Admin', operator: 'Operator', viewer: 'Viewer (read only)', billing: 'Billing' } as const;

/** The signed-in frame: navigation, who is signed in with which role, sign-out, and the current screen. */
export function Shell({ session, onSignedOut }: Props) {
  const [signingOut, setSigningOut] = useState(false);
  const [error, setError] = useState<string | undefined>();

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
            {canReadConfig(session.role) && (
              <li>
                <a href="#apis" aria-current="page">
                  APIs
                </a>
              </li>
            )}
          </ul>
        </nav>
        <main class="content" id="main">
          {canReadConfig(session.role) ? (
            <ApisList />
          ) : (
            <section class="state">
              <h1>Nothing to show for this role</h1>
              <p class="muted">The {session.role} role cannot read the gateway configuration. Billing reports are available from the admin API (GET /reports/billing).</p>
            </section>
          )}
        </main>
      </div>
    </div>
  );
}
