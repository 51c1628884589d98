import { Option, type Command } from 'commander';
import { AdminClient, ProblemResponseError } from '../admin-client.js';
import { CliError, problemLine } from '../cli-error.js';
import { connectionOf } from './common.js';

interface Account {
  id: string;
  email: string;
  displayName: string;
  status: string;
  consumer: string | null;
  createdAt: string;
  decidedBy: string | null;
}

interface SubscriptionRequest {
  id: string;
  consumer: string;
  plan: string;
  status: string;
  createdAt: string;
  subscription: string | null;
}

async function call<T>(command: Command, method: string, path: string, body?: unknown): Promise<T | undefined> {
  try {
    return await new AdminClient(connectionOf(command)).json<T>(method, path, body);
  } catch (error) {
    if (error instanceof ProblemResponseError) throw new CliError(problemLine(error.problem));
    throw error;
  }
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** `tollgate portal accounts|approve|reject|invite`: the developer portal's approval queue (docs/portal.md). */
export function registerPortal(program: Command): void {
  const portal = program.command('portal').description('Developer-portal accounts: the approval queue, approvals, invitations (docs/portal.md)');

  portal
    .command('accounts')
    .description('List portal accounts (default: those waiting for approval)')
    .addOption(new Option('--status <status>', 'only accounts in this status').choices(['unverified', 'pending', 'active', 'rejected', 'disabled', 'all']).default('pending'))
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (options: { status: string; output: string }, command: Command) => {
      const query = options.status === 'all' ? '' : `?status=${options.status}`;
      const page = await call<{ items: Account[] }>(command, 'GET', `/portal/accounts${query}`);
      const items = page?.items ?? [];
      if (options.output === 'json') {
        process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
        return;
      }
      process.stdout.write(table(['ID', 'EMAIL', 'NAME', 'STATUS', 'CONSUMER', 'CREATED'], items.map((a) => [a.id, a.email, a.displayName, a.status, a.consumer ?? '', a.createdAt])));
    });

  portal
    .command('approve <id>')
    .description('Approve a pending account: it gets its own Consumer and the developer is mailed')
    .action(async (id: string, _options: unknown, command: Command) => {
      const account = await call<Account>(command, 'POST', `/portal/accounts/${encodeURIComponent(id)}/approve`);
      process.stdout.write(`approved ${account?.email ?? id}: consumer ${account?.consumer ?? ''}\n`);
    });

  portal
    .command('reject <id>')
    .description('Reject a pending or unverified account')
    .action(async (id: string, _options: unknown, command: Command) => {
      const account = await call<Account>(command, 'POST', `/portal/accounts/${encodeURIComponent(id)}/reject`);
      process.stdout.write(`rejected ${account?.email ?? id}\n`);
    });

  portal
    .command('disable <id>')
    .description("Disable an account: no more sign-in, its sessions end, its consumer's API keys and OAuth clients are revoked and its signature keys removed")
    .action(async (id: string, _options: unknown, command: Command) => {
      const account = await call<Account & { revokedKeys: number; revokedOAuthClients?: number; removedSignatureKeys?: number }>(command, 'POST', `/portal/accounts/${encodeURIComponent(id)}/disable`);
      process.stdout.write(`disabled ${account?.email ?? id}: ${account?.revokedKeys ?? 0} API key(s) revoked, ${account?.revokedOAuthClients ?? 0} OAuth client(s) revoked, ${account?.removedSignatureKeys ?? 0} signature key(s) removed\n`);
    });

  portal
    .command('requests')
    .description('List subscription requests on plans offered with approval (default: pending)')
    .addOption(new Option('--status <status>', 'only requests in this status').choices(['pending', 'approved', 'rejected', 'all']).default('pending'))
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (options: { status: string; output: string }, command: Command) => {
      const query = options.status === 'all' ? '' : `?status=${options.status}`;
      const items = (await call<{ items: SubscriptionRequest[] }>(command, 'GET', `/portal/subscription-requests${query}`))?.items ?? [];
      if (options.output === 'json') {
        process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
        return;
      }
      process.stdout.write(table(['ID', 'CONSUMER', 'PLAN', 'STATUS', 'CREATED'], items.map((r) => [r.id, r.consumer, r.plan, r.status, r.createdAt])));
    });

  for (const [verb, past] of [['approve', 'approved'], ['reject', 'rejected']] as const) {
    portal
      .command(`${verb}-request <id>`)
      .description(verb === 'approve' ? 'Approve a subscription request: the Subscription starts now' : 'Reject a subscription request')
      .action(async (id: string, _options: unknown, command: Command) => {
        const r = await call<SubscriptionRequest>(command, 'POST', `/portal/subscription-requests/${encodeURIComponent(id)}/${verb}`);
        process.stdout.write(`${past} ${r?.consumer ?? ''} on ${r?.plan ?? id}${r?.subscription ? `: subscription ${r.subscription}` : ''}\n`);
      });
  }

  portal
    .command('invite <email>')
    .description('Mail an invitation to sign up (needed when PORTAL_SIGNUP=invite)')
    .action(async (email: string, _options: unknown, command: Command) => {
      await call(command, 'POST', '/portal/invitations', { email });
      process.stdout.write(`invitation mailed to ${email}\n`);
    });
}
