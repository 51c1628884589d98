import { useState } from 'preact/hooks';
import { ApiError, signIn, type SessionInfo } from './api.js';
import { Logo } from './logo.js';

interface Props {
  notice?: string | undefined;
  onSignedIn: (session: SessionInfo) => void;
}

/** Sign-in with an admin token, exchanged at once for an HttpOnly session cookie; the token is not kept. */
export function SignIn({ notice, onSignedIn }: Props) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();

  const submit = async (event: Event) => {
    event.preventDefault();
    if (token.trim() === '') {
      setError('Enter an admin token.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const session = await signIn(token.trim());
      setToken('');
      onSignedIn(session);
    } catch (err) {
      setError(err instanceof ApiError ? messageOf(err) : 'Sign-in failed.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <form class="card sign-in-card" onSubmit={submit} aria-labelledby="sign-in-title" noValidate>
        <div class="brand">
          <Logo />
          <span>Tollgate</span>
        </div>
        <h1 id="sign-in-title">Sign in to the console</h1>
        <p class="muted">Use an admin token. It is exchanged for a session that ends after a period of inactivity; the browser does not store the token.</p>
        {notice !== undefined && !error && <p class="notice" role="status">{notice}</p>}
        <label for="token">Admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-invalid={error !== undefined}
          aria-describedby={error !== undefined ? 'sign-in-error' : undefined}
          disabled={busy}
          autoFocus
        />
        {error !== undefined && (
          <p id="sign-in-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="hint">
          No token yet? The first start prints one; an admin creates more with
          <code class="block">tollgate tokens create --name you --role operator</code>
        </p>
      </form>
    </main>
  );
}

function messageOf(err: ApiError): string {
  if (err.status === 401) return 'That token is not valid or has been revoked.';
  if (err.status === 429) return 'Too many failed attempts from this address. Wait a minute and try again.';
  return err.message;
}
