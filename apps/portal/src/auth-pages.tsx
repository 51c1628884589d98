import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Branding, type Session } from './api.js';
import { go } from './router.js';

function Alert({ error }: { error: string | undefined }) {
  return error ? <p role="alert" class="alert">{error}</p> : null;
}

function message(e: unknown): string {
  if (e instanceof ApiError) return e.status === 429 ? 'Too many attempts from your network. Wait a minute and try again.' : e.message;
  return 'Something went wrong. Try again.';
}

function Field(props: { label: string; type?: string; value: string; onInput: (v: string) => void; autocomplete?: string; hint?: string }) {
  const id = `f-${props.label.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input id={id} type={props.type ?? 'text'} value={props.value} required autocomplete={props.autocomplete} onInput={(e) => props.onInput((e.target as HTMLInputElement).value)} />
      {props.hint ? <small class="muted">{props.hint}</small> : null}
    </div>
  );
}

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <section class="page narrow">
      <form
        class="card pad stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            const s = await api.signIn(email, password);
            onSignedIn(s);
            go(s.account.status === 'active' ? '/keys' : '/');
          } catch (err) {
            setError(err instanceof ApiError && err.status === 401 ? 'That email and password do not match an account.' : message(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>Sign in</h1>
        <Field label="Email" type="email" value={email} onInput={setEmail} autocomplete="username" />
        <Field label="Password" type="password" value={password} onInput={setPassword} autocomplete="current-password" />
        <Alert error={error} />
        <button class="primary" type="submit" disabled={busy}>Sign in</button>
        <p class="muted small">
          <a href="#/forgot">Forgot your password?</a> · <a href="#/sign-up">Create an account</a>
        </p>
      </form>
    </section>
  );
}

export function SignUp({ branding, invite }: { branding: Branding; invite: string | undefined }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  if (branding.signup === 'closed') return <section class="page narrow"><div class="card pad"><h1>Sign-up is closed</h1><p>Ask the operators of this portal for an account.</p></div></section>;
  if (branding.signup === 'invite' && !invite) return <section class="page narrow"><div class="card pad"><h1>By invitation only</h1><p>Open the link in your invitation mail to create an account.</p></div></section>;
  if (done) return <section class="page narrow"><div class="card pad"><h1>Check your email</h1><p>{done}</p></div></section>;
  return (
    <section class="page narrow">
      <form
        class="card pad stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          try {
            const r = await api.signUp({ email, password, displayName: name, ...(invite ? { invite } : {}) });
            if (r.status === 'active') go('/sign-in');
            else setDone(`We sent a confirmation link to ${email}. Open it to continue${branding.signup === 'approval' ? '; an operator then reviews your account' : ''}.`);
          } catch (err) {
            setError(message(err));
          }
        }}
      >
        <h1>Create your developer account</h1>
        <Field label="Name" value={name} onInput={setName} autocomplete="name" />
        <Field label="Email" type="email" value={email} onInput={setEmail} autocomplete="email" />
        <Field label="Password" type="password" value={password} onInput={setPassword} autocomplete="new-password" hint="At least 10 characters." />
        <Alert error={error} />
        <button class="primary" type="submit">Create account</button>
        <p class="muted small">Already have one? <a href="#/sign-in">Sign in</a></p>
      </form>
    </section>
  );
}

export function Verify({ token }: { token: string }) {
  const [state, setState] = useState<'working' | 'active' | 'pending' | 'failed'>('working');
  useEffect(() => {
    api.verify(token).then((r) => setState(r.status === 'active' ? 'active' : 'pending'), () => setState('failed'));
  }, [token]);
  const text = {
    working: ['Confirming…', ''],
    active: ['Email confirmed', 'Your account is ready. Sign in to create an API key.'],
    pending: ['Email confirmed', 'An operator reviews new accounts. You will get a mail once yours is approved.'],
    failed: ['This link does not work', 'It was used already or has expired. Sign in to get a new one.'],
  }[state];
  return (
    <section class="page narrow">
      <div class="card pad">
        <h1>{text[0]}</h1>
        <p>{text[1]}</p>
        {state === 'active' || state === 'failed' ? <a class="button primary" href="#/sign-in">Sign in</a> : null}
      </div>
    </section>
  );
}

export function Forgot() {
  const [email, setEmail] = useState('');
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string>();
  if (done) return <section class="page narrow"><div class="card pad"><h1>Check your email</h1><p>If an account uses {email}, a link to choose a new password is on its way.</p></div></section>;
  return (
    <section class="page narrow">
      <form
        class="card pad stack"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await api.forgot(email);
            setDone(true);
          } catch (err) {
            setError(message(err));
          }
        }}
      >
        <h1>Reset your password</h1>
        <Field label="Email" type="email" value={email} onInput={setEmail} autocomplete="email" />
        <Alert error={error} />
        <button class="primary" type="submit">Send reset link</button>
      </form>
    </section>
  );
}

export function Reset({ token }: { token: string }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  return (
    <section class="page narrow">
      <form
        class="card pad stack"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await api.reset(token, password);
            go('/sign-in');
          } catch (err) {
            setError(message(err));
          }
        }}
      >
        <h1>Choose a new password</h1>
        <Field label="New password" type="password" value={password} onInput={setPassword} autocomplete="new-password" hint="At least 10 characters. You will be signed out everywhere else." />
        <Alert error={error} />
        <button class="primary" type="submit">Set password</button>
      </form>
    </section>
  );
}
