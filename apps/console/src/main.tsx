import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, currentSession, rememberCsrfToken, whenSessionEnds, type SessionInfo } from './api.js';
import { Shell } from './shell.js';
import { SignIn } from './sign-in.js';
import './styles.css';
import './screens.css';
import './editor.css';

type State = { kind: 'checking' } | { kind: 'signed-out'; notice?: string } | { kind: 'signed-in'; session: SessionInfo };

/** Asks the server whether the browser still holds a live session, then shows sign-in or the shell. */
function App() {
  const [state, setState] = useState<State>({ kind: 'checking' });

  const enter = (session: SessionInfo) => {
    rememberCsrfToken(session.csrfToken);
    setState({ kind: 'signed-in', session });
  };
  const leave = (notice?: string) => {
    rememberCsrfToken(undefined);
    setState({ kind: 'signed-out', ...(notice !== undefined ? { notice } : {}) });
  };

  useEffect(() => {
    whenSessionEnds(() => leave('Your session has ended. Sign in again to continue.'));
    currentSession()
      .then(enter)
      .catch((err: unknown) => leave(err instanceof ApiError && err.status !== 401 ? err.message : undefined));
  }, []);

  if (state.kind === 'checking') return <div class="splash" aria-busy="true">Loading…</div>;
  if (state.kind === 'signed-out') return <SignIn notice={state.notice} onSignedIn={enter} />;
  return <Shell session={state.session} onSignedOut={() => leave('You have signed out.')} />;
}

const root = document.getElementById('app');
if (root) render(<App />, root);
