import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { call, printSecretOnce, table } from './credentials.js';

interface ClientView {
  clientId: string;
  consumer: string;
  name?: string;
  scopes: string[];
  createdAt: string;
  revokedAt?: string;
  clientSecret?: string;
}

/** `tollgate oauth-clients create|list|revoke`: OAuth clients of a consumer (client-credentials grant). */
export function registerOAuthClients(program: Command): void {
  const clients = program.command('oauth-clients').description("manage a consumer's OAuth clients (client-credentials grant at the gateway's oauth2-token endpoint)");
  clients
    .command('create <consumer>')
    .description('create an OAuth client; prints "<client_id> <client_secret>" once on stdout')
    .option('--name <name>', 'label of the client')
    .option('--scope <scope...>', "scopes the client may be granted (default: all of the consumer's spec.scopes)")
    .action(async (consumer: string, options: { name?: string; scope?: string[] }, command: Command) => {
      const created = await call<ClientView>(command, 'POST', `/consumers/${encodeURIComponent(consumer)}/oauth-clients`, {
        ...(options.name !== undefined ? { name: options.name } : {}),
        ...(options.scope !== undefined ? { scopes: options.scope } : {}),
      });
      if (!created?.clientSecret) throw new CliError('the admin API returned no client secret');
      printSecretOnce(`${created.clientId} ${created.clientSecret}`, 'client secret', `Created OAuth client ${created.clientId} for Consumer/${created.consumer} (scopes: ${created.scopes.join(' ') || 'none'}).`);
    });
  clients
    .command('list <consumer>')
    .description('list OAuth clients of a consumer (never the secrets)')
    .action(async (consumer: string, _options: unknown, command: Command) => {
      const res = await call<{ items: ClientView[] }>(command, 'GET', `/consumers/${encodeURIComponent(consumer)}/oauth-clients`);
      const rows = (res?.items ?? []).map((c) => [c.clientId, c.name ?? '', c.scopes.join(' '), c.createdAt, c.revokedAt ? `revoked ${c.revokedAt}` : 'active']);
      process.stdout.write(table(['CLIENT ID', 'NAME', 'SCOPES', 'CREATED', 'STATUS'], rows));
    });
  clients
    .command('revoke <consumer> <clientId>')
    .description('revoke an OAuth client (every gateway stops issuing it tokens, and refuses those it holds, within a second)')
    .action(async (consumer: string, clientId: string, _options: unknown, command: Command) => {
      await call(command, 'DELETE', `/consumers/${encodeURIComponent(consumer)}/oauth-clients/${encodeURIComponent(clientId)}`);
      process.stdout.write(`OAuth client ${clientId} of Consumer/${consumer} revoked\n`);
    });
}
