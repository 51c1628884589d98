import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, rememberCsrf, type Branding, type Session } from './api.js';
import { Forgot, Reset, SignIn, SignUp, Verify } from './auth-pages.js';
import { ApiReference, Catalogue } from './catalogue.js';
import { Invoices, Keys, PlansAndUsage } from './account-pages.js';
import { Credentials } from './credential-pages.js';
import { go, useRoute } from './router.js';
import './styles.css';

function App() {
  const [branding, setBranding] = useState<Branding | undefined>();
  const [session, setSession] = useState<Session | null | undefined>();
  const route = useRoute();

  useEffect(() => {
    void api.branding().then((b) => {
      setBranding(b);
      document.title = b.title;
    });
    api
      .session()
      .then((s) => {
        rememberCsrf(s.csrfToken);
        setSession(s);
      })
      .catch(() => setSession(null));
  }, []);

  if (!branding || session === undefined) return <div class="splash">Loading…</div>;
  const signedIn = (s: Session | null) => {
    rememberCsrf(s?.csrfToken);
    setSession(s);
  };
  const active = session?.account.status === 'active';
  const section = route.path.split('/')[1] ?? '';
  const needsActive = ['keys', 'credentials', 'plans', 'invoices'].includes(section);

  let page;
  if (route.path === '/' || route.path === '/apis') page = <Catalogue />;
  else if (section === 'apis') page = <ApiReference name={decodeURIComponent(route.path.slice('/apis/'.length))} gatewayUrl={branding.gatewayUrl} />;
  else if (route.path === '/sign-in') page = <SignIn onSignedIn={signedIn} />;
  else if (route.path === '/sign-up') page = <SignUp branding={branding} invite={route.params.get('token') ?? undefined} />;
  else if (route.path === '/verify') page = <Verify token={route.params.get('token') ?? ''} />;
  else if (route.path === '/forgot') page = <Forgot />;
  else if (route.path === '/reset') page = <Reset token={route.params.get('token') ?? ''} />;
  else if (needsActive && !session) page = <SignIn onSignedIn={signedIn} />;
  else if (needsActive && !active) page = <NotActive session={session!} />;
  else if (section === 'keys') page = <Keys />;
  else if (section === 'credentials') page = <Credentials />;
  else if (section === 'plans') page = <PlansAndUsage />;
  else if (section === 'invoices') page = <Invoices since={session?.account.createdAt ?? new Date().toISOString()} />;
  else page = <section class="page"><h1>Not found</h1><p><a href="#/">Back to the APIs</a></p></section>;

  const link = (to: string, label: string) => (
    <a href={`#${to}`} class={route.path === to || (to !== '/' && route.path.startsWith(to)) || (to === '/' && section === 'apis') ? 'current' : ''}>
      {label}
    </a>
  );
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          {branding.hasLogo ? <img src="/branding/logo" alt="" class="logo" /> : <span class="mark" aria-hidden="true" />}
          <span>{branding.title}</span>
        </a>
        <nav aria-label="Main">
          {link('/', 'APIs')}
          {session && active ? (
            <>
              {link('/keys', 'API keys')}
              {link('/credentials', 'OAuth & signing')}
              {link('/plans', 'Plans & usage')}
              {link('/invoices', 'Invoices')}
            </>
          ) : null}
        </nav>
        <div class="who">
          {session ? (
            <>
              <span class="email">{session.account.email}</span>
              <button
                class="secondary"
                onClick={async () => {
                  await api.signOut().catch(() => undefined);
                  signedIn(null);
                  go('/sign-in');
                }}
              >
                Sign out
              </button>
            </>
          ) : (
            <>
              <a href="#/sign-in" class="button secondary">Sign in</a>
              {branding.signup === 'open' || branding.signup === 'approval' ? <a href="#/sign-up" class="button primary">Sign up</a> : null}
            </>
          )}
        </div>
      </header>
      <main>{page}</main>
      <footer class="foot">Powered by Tollgate</footer>
    </>
  );
}

function NotActive({ session }: { session: Session }) {
  const status = session.account.status;
  return (
    <section class="page narrow">
      <div class="card pad">
        <h1>{status === 'pending' ? 'Waiting for approval' : 'Confirm your email address'}</h1>
        <p>
          {status === 'pending'
            ? 'Your email address is confirmed. An operator reviews new accounts; you will get a mail once yours is approved.'
            : 'We sent you a link. Open it to confirm your email address, then come back here.'}
        </p>
      </div>
    </section>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
