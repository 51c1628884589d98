import { useState } from 'preact/hooks';
import { canReadConfig, canWriteConfig, signOut, type SessionInfo } from './api.js';
import { ApiPage } from './api-page.js';
import { ApisList } from './apis-list.js';
import { useHashRoute } from './hash-route.js';
import { ImportScreen } from './import-screen.js';
import { Logo } from './logo.js';
import { Overview } from './overview.js';
import { UpstreamsScreen } from './upstreams-screen.js';

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
  const screen = route[0] ?? 'overview';
  const navItem = (id: string, label: string) => (
    <li>
      <a href={`#${id}`} aria-current={screen === id ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
  const content = () => {
    switch (screen) {
      case 'apis':
        return route[1] !== undefined ? <ApiPage key={route[1]} name={route[1]} canWrite={canWriteConfig(session.role)} /> : <ApisList />;
      case 'import':
        return <ImportScreen canWrite={canWriteConfig(session.role)} />;
      case 'upstreams':
        return <UpstreamsScreen />;
      default:
        return <Overview />;
    }
  };

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
            {canReadConfig(session.role) && navItem('overview', 'Overview')}
            {canReadConfig(session.role) && navItem('apis', 'APIs')}
            {canWriteConfig(session.role) && navItem('import', 'Import')}
            {canReadConfig(session.role) && navItem('upstreams', 'Upstreams')}
          </ul>
        </nav>
        <main class="content" id="main">
          {canReadConfig(session.role) ? (
            content()
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
