import { createHash, randomBytes } from 'node:crypto';
import { jsonDocuments, validateDocuments } from '@tollgate/model';
import { PortalEmailTakenError, type PortalSubscriptionRequest, type AuditActor, type AuditStore, type ConfigStore, type PortalAccount, type PortalAccountStore, type SetValidator } from '@tollgate/stores';
import { ProblemError } from '../problem.js';
import type { Mailer } from './mailer.js';
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN } from './passwords.js';
import type { PortalSettings } from './portal-settings.js';
import { offerOf, switchPlan } from './subscriptions.js';

const DAY_MS = 86_400_000;
const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** A mailed one-time token: 256 random bits, only its SHA-256 stored. */
function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: sha256(token) };
}

/** An account as shown to operators and to its owner: never the password digest. */
export interface PortalAccountView {
  id: string;
  email: string;
  displayName: string;
  status: PortalAccount['status'];
  consumer: string | null;
  createdAt: string;
  emailVerifiedAt: string | null;
  decidedAt: string | null;
  decidedBy: string | null;
}

export function accountView(a: PortalAccount): PortalAccountView {
  return {
    id: a.id,
    email: a.email,
    displayName: a.displayName,
    status: a.status,
    consumer: a.consumer ?? null,
    createdAt: a.createdAt.toISOString(),
    emailVerifiedAt: a.emailVerifiedAt?.toISOString() ?? null,
    decidedAt: a.decidedAt?.toISOString() ?? null,
    decidedBy: a.decidedBy ?? null,
  };
}

/** A simple, deliberately permissive address check (RFC 5321 lengths); the verification mail is the real test. */
const EMAIL = /^[^\s@<>()",;:]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/;

export function checkCredentials(email: string, password: string): void {
  if (email.length > 254 || !EMAIL.test(email)) throw new ProblemError('INVALID_REQUEST', 'email must be an email address', { errors: [{ path: 'body.email', code: 'invalid_email', message: 'must be an email address' }] });
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new ProblemError('INVALID_REQUEST', `password must have ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`, { errors: [{ path: 'body.password', code: 'password_length', message: `must have ${PASSWORD_MIN} to ${PASSWORD_MAX} characters` }] });
  }
}

/**
 * The portal's account life cycle, shared by the portal listener (sign-up, verification, reset)
 * and the admin API (approval, invitations). An account becomes *active* by getting its own
 * Consumer, applied through the config store like any other change (validated, audited, on the
 * change feed), named `dev-<12 hex>`: gateway identity, keys, plans, quotas and invoices all key
 * on the consumer, so an active account is exactly one consumer.
 */
export class PortalAccounts {
  constructor(
    readonly store: PortalAccountStore,
    private readonly config: ConfigStore,
    private readonly validate: SetValidator,
    private readonly audit: AuditStore,
    private readonly mailer: Mailer,
    readonly settings: PortalSettings,
  ) {}

  private link(path: string, token: string): string {
    // In the fragment: browsers never send it to a server, so it stays out of access logs and Referer.
    return `${this.settings.publicUrl.replace(/\/$/, '')}/#/${path}?token=${token}`;
  }

  private async issue(purpose: 'verify' | 'reset' | 'invite', email: string, accountId?: string): Promise<string> {
    const { token, hash } = newToken();
    const ttl = purpose === 'invite' ? (this.settings.inviteTtlMs ?? 7 * DAY_MS) : (this.settings.tokenTtlMs ?? DAY_MS);
    await this.store.issueToken({ hash, purpose, email, expiresAt: new Date(Date.now() + ttl), ...(accountId !== undefined ? { accountId } : {}) });
    return token;
  }

  /**
   * Signs up. The answer is the same whether or not the email already has an account (no
   * enumeration): the owner of an existing account gets a mail pointing to password reset.
   */
  async signUp(input: { email: string; password: string; displayName: string; invite?: string }): Promise<{ status: PortalAccount['status'] }> {
    const mode = this.settings.signup;
    if (mode === 'closed') throw new ProblemError('FORBIDDEN', 'sign-up is closed on this portal');
    checkCredentials(input.email, input.password);
    const email = input.email.toLowerCase();
    let invited = false;
    if (mode === 'invite') {
      const spent = input.invite === undefined ? undefined : await this.store.spendToken(sha256(input.invite), 'invite');
      if (!spent || spent.email !== email) throw new ProblemError('FORBIDDEN', 'sign-up on this portal needs a valid invitation for this email address');
      invited = true;
    }
    const passwordHash = await hashPassword(input.password);
    const id = `dev_${randomBytes(8).toString('hex')}`;
    try {
      // An invitation was mailed to this address: it is verified already.
      const account = await this.store.create({ id, email, displayName: input.displayName, passwordHash, status: invited ? 'pending' : 'unverified' });
      if (invited) {
        await this.store.update(id, { emailVerifiedAt: new Date() });
        return { status: (await this.activate(account, 'invitation')).status };
      }
      const token = await this.issue('verify', email, id);
      await this.mailer.send({ to: email, subject: `${this.settings.branding.title}: confirm your email address`, text: `Confirm your email address to finish signing up:\n\n${this.link('verify', token)}\n\nThe link works once, for 24 hours. If you did not sign up, ignore this mail.\n` });
      return { status: 'unverified' };
    } catch (err) {
      if (!(err instanceof PortalEmailTakenError)) throw err;
      await this.mailer.send({ to: email, subject: `${this.settings.branding.title}: you already have an account`, text: `Someone (maybe you) tried to sign up with this address, which already has an account. To choose a new password, use "Forgot password" on the sign-in page.\n` });
      return { status: 'unverified' };
    }
  }

  /** Spends a verification link: the account becomes active (open) or waits for an operator (approval). */
  async verify(token: string): Promise<PortalAccount> {
    const spent = await this.store.spendToken(sha256(token), 'verify');
    const account = spent?.accountId === undefined ? undefined : await this.store.update(spent.accountId, { emailVerifiedAt: new Date(), status: 'pending' }, 'unverified');
    if (!account) throw new ProblemError('INVALID_REQUEST', 'this verification link is not valid (used, expired or unknown); sign in to get a new one');
    if (this.settings.signup === 'approval') return account;
    return this.activate(account, 'email verified');
  }

  /** Sends a new verification link to an account that has not verified yet. */
  async resendVerification(account: PortalAccount): Promise<void> {
    if (account.status !== 'unverified') return;
    const token = await this.issue('verify', account.email, account.id);
    await this.mailer.send({ to: account.email, subject: `${this.settings.branding.title}: confirm your email address`, text: `Confirm your email address:\n\n${this.link('verify', token)}\n` });
  }

  /** Creates the account's Consumer and marks it active (from `pending` only). */
  private async activate(account: PortalAccount, reason: string, actor?: AuditActor): Promise<PortalAccount> {
    const consumer = `dev-${account.id.slice(4, 16)}`;
    const parsed = validateDocuments(
      jsonDocuments({
        apiVersion: 'tollgate.dev/v1',
        kind: 'Consumer',
        metadata: { name: consumer, labels: { 'tollgate.dev/portal': 'true' }, annotations: { 'tollgate.dev/portal-account': account.id } },
        spec: { metadata: { portalAccount: account.id } },
      }),
    );
    if (!parsed.ok) throw new Error(`portal consumer document is invalid: ${JSON.stringify(parsed.issues)}`);
    if (!(await this.config.get('Consumer', consumer))) {
      await this.config.apply(parsed.resources, { validate: this.validate, createOnly: true, audit: { action: 'portal-account.activate', resourceKind: 'Consumer', resourceName: consumer, ...(actor ? { actor } : {}) } });
    }
    const updated = await this.store.update(account.id, { status: 'active', consumer, decidedAt: new Date(), decidedBy: actor?.name ?? reason }, 'pending');
    if (!updated) throw new ProblemError('ALREADY_EXISTS', `account ${account.id} is no longer pending`);
    return updated;
  }

  /** Operator approval of a verified account waiting in `pending`. */
  async approve(id: string, actor: AuditActor | undefined): Promise<PortalAccount> {
    const account = await this.store.get(id);
    if (!account) throw new ProblemError('NOT_FOUND', `portal account ${id} does not exist`);
    if (account.status !== 'pending') throw new ProblemError('INVALID_TRANSITION', `portal account ${id} is ${account.status}; only a pending account (email verified) can be approved`);
    const active = await this.activate(account, 'approved', actor);
    await this.mailer.send({ to: account.email, subject: `${this.settings.branding.title}: your account is approved`, text: `Your developer account is approved. Sign in at ${this.settings.publicUrl} to create API keys.\n` });
    return active;
  }

  /** Operator refusal of a pending (or unverified) account. */
  async reject(id: string, actor: AuditActor | undefined): Promise<PortalAccount> {
    const account = await this.store.get(id);
    if (!account) throw new ProblemError('NOT_FOUND', `portal account ${id} does not exist`);
    if (account.status !== 'pending' && account.status !== 'unverified') throw new ProblemError('INVALID_TRANSITION', `portal account ${id} is ${account.status}; only a pending or unverified account can be rejected`);
    const rejected = await this.store.update(id, { status: 'rejected', decidedAt: new Date(), decidedBy: actor?.name ?? 'operator' }, account.status);
    if (!rejected) throw new ProblemError('INVALID_TRANSITION', `portal account ${id} changed meanwhile; read it again`);
    await this.audit.record({ action: 'portal-account.reject', outcome: 'success', status: 200, resourceKind: 'PortalAccount', resourceName: id, ...(actor ? { actor } : {}) });
    return rejected;
  }

  /**
   * Operator shut-off of an account: it can no longer sign in and its sessions end at their next
   * request. The caller revokes the consumer's keys (the admin route does, in the same request).
   */
  async disable(id: string, actor: AuditActor | undefined): Promise<PortalAccount> {
    const account = await this.store.get(id);
    if (!account) throw new ProblemError('NOT_FOUND', `portal account ${id} does not exist`);
    if (account.status === 'disabled' || account.status === 'rejected') throw new ProblemError('INVALID_TRANSITION', `portal account ${id} is ${account.status} already`);
    const disabled = await this.store.update(id, { status: 'disabled', decidedAt: new Date(), decidedBy: actor?.name ?? 'operator' }, account.status);
    if (!disabled) throw new ProblemError('INVALID_TRANSITION', `portal account ${id} changed meanwhile; read it again`);
    await this.audit.record({ action: 'portal-account.disable', outcome: 'success', status: 200, resourceKind: 'PortalAccount', resourceName: id, ...(actor ? { actor } : {}) });
    return disabled;
  }

  /** Mails an invitation (mode `invite`); the invited person signs up with that address. */
  async invite(email: string, actor: AuditActor | undefined): Promise<void> {
    if (this.settings.signup === 'closed') throw new ProblemError('INVALID_REQUEST', 'sign-up is closed on this portal (PORTAL_SIGNUP=closed); invitations cannot be used');
    checkCredentials(email, 'x'.repeat(PASSWORD_MIN));
    const token = await this.issue('invite', email.toLowerCase());
    await this.mailer.send({ to: email, subject: `You are invited to ${this.settings.branding.title}`, text: `You are invited to create a developer account:\n\n${this.link('sign-up', token)}\n\nThe invitation works once, for 7 days, with this email address.\n` });
    await this.audit.record({ action: 'portal-account.invite', outcome: 'success', status: 202, resourceKind: 'PortalAccount', resourceName: email.toLowerCase(), ...(actor ? { actor } : {}) });
  }

  /** Mails a reset link when the address has an account; says nothing either way. */
  async requestReset(email: string): Promise<void> {
    const account = await this.store.findByEmail(email);
    if (!account || account.status === 'rejected' || account.status === 'disabled') return;
    const token = await this.issue('reset', account.email, account.id);
    await this.mailer.send({ to: account.email, subject: `${this.settings.branding.title}: reset your password`, text: `Choose a new password:\n\n${this.link('reset', token)}\n\nThe link works once, for 24 hours. If you did not ask for it, ignore this mail: your password stays as it is.\n` });
  }

  /** Spends a reset link and sets the new password; returns the account so its sessions can be ended. */
  async reset(token: string, password: string): Promise<PortalAccount> {
    if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) throw new ProblemError('INVALID_REQUEST', `password must have ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
    const spent = await this.store.spendToken(sha256(token), 'reset');
    const account = spent?.accountId === undefined ? undefined : await this.store.update(spent.accountId, { passwordHash: await hashPassword(password) });
    if (!account) throw new ProblemError('INVALID_REQUEST', 'this reset link is not valid (used, expired or unknown); ask for a new one');
    return account;
  }

  /** Operator approval of a pending subscription request: the Subscription is applied now. */
  async approveSubscription(id: string, actor: AuditActor | undefined): Promise<PortalSubscriptionRequest> {
    const request = await this.pendingRequest(id);
    const plan = (await this.config.get('Plan', request.plan))?.resource;
    if (!plan || plan.kind !== 'Plan' || offerOf(plan) === undefined) throw new ProblemError('INVALID_TRANSITION', `plan ${request.plan} is no longer offered in the portal; reject the request`);
    const { name: subscription } = await switchPlan(this.config, this.validate, request.consumer, request.plan, { action: 'portal-subscription.approve', resourceKind: 'Consumer', resourceName: request.consumer, ...(actor ? { actor } : {}) });
    const decided = await this.store.decideSubscriptionRequest(id, { status: 'approved', decidedBy: actor?.name ?? 'operator', subscription });
    if (!decided) throw new ProblemError('INVALID_TRANSITION', `subscription request ${id} was decided meanwhile`);
    await this.notify(decided, `Your subscription to ${decided.plan} is approved and active now.`);
    return decided;
  }

  /** Operator refusal of a pending subscription request. */
  async rejectSubscription(id: string, actor: AuditActor | undefined): Promise<PortalSubscriptionRequest> {
    await this.pendingRequest(id);
    const decided = await this.store.decideSubscriptionRequest(id, { status: 'rejected', decidedBy: actor?.name ?? 'operator' });
    if (!decided) throw new ProblemError('INVALID_TRANSITION', `subscription request ${id} was decided meanwhile`);
    await this.audit.record({ action: 'portal-subscription.reject', outcome: 'success', status: 200, resourceKind: 'Consumer', resourceName: decided.consumer, ...(actor ? { actor } : {}) });
    await this.notify(decided, `Your request to subscribe to ${decided.plan} was not approved.`);
    return decided;
  }

  private async pendingRequest(id: string): Promise<PortalSubscriptionRequest> {
    const request = await this.store.getSubscriptionRequest(id);
    if (!request) throw new ProblemError('NOT_FOUND', `subscription request ${id} does not exist`);
    if (request.status !== 'pending') throw new ProblemError('INVALID_TRANSITION', `subscription request ${id} is ${request.status} already`);
    return request;
  }

  private async notify(request: PortalSubscriptionRequest, text: string): Promise<void> {
    const account = await this.store.get(request.accountId);
    if (account) await this.mailer.send({ to: account.email, subject: `${this.settings.branding.title}: subscription to ${request.plan}`, text: `${text}\n\n${this.settings.publicUrl}/#/plans\n` });
  }
}
