import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { AdminClient, ProblemResponseError } from '../admin-client.js';
import { CliError, problemLine } from '../cli-error.js';
import { connectionOf } from './common.js';
import { parseKeyFile } from '../key-file.js';

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** Calls the admin API; a problem answer becomes a one-line error (`FORBIDDEN: …`), exit 1. */
export async function call<T>(command: Command, method: string, path: string, body?: unknown): Promise<T | undefined> {
  try {
    return await new AdminClient(connectionOf(command)).json<T>(method, path, body);
  } catch (error) {
    if (error instanceof ProblemResponseError) throw new CliError(problemLine(error.problem));
    throw error;
  }
}

/** A secret the admin API returns once: printed alone on stdout (scriptable), the warning on stderr. */
export function printSecretOnce(secret: string, what: string, details: string): void {
  process.stderr.write(`${details}\nWARNING: this ${what} is shown only once and cannot be retrieved again; store it now.\n`);
  process.stdout.write(`${secret}\n`);
}

/** Fixed-width columns, like `kubectl get`. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

function parseExpiry(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const relative = /^(\d+)([hd])$/.exec(value);
  if (relative && Number(relative[1]) === 0) throw new CliError(`--expires-at: ${value} would expire the key at once; give a duration like 90d or 12h`);
  if (relative) return new Date(Date.now() + Number(relative[1]) * (relative[2] === 'h' ? 3_600_000 : 86_400_000)).toISOString();
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new CliError(`--expires-at: "${value}" is neither an RFC 3339 time nor a duration like 30d or 12h`);
  // Said here in a sentence, before the server's schema answers with a validation message.
  if (at <= Date.now()) throw new CliError(`--expires-at: ${value} is in the past; give a future time or a duration like 90d`);
  return value;
}

interface KeyView {
  id: string;
  consumer: string;
  name?: string;
  source?: 'api' | 'config';
  prefix?: string;
  last4?: string;
  createdAt?: string;
  expiresAt?: string;
  revokedAt?: string;
  key?: string;
}

interface TokenView {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  revokedAt?: string;
  token?: string;
}

/** `tollgate keys create|list|revoke`: API keys of a consumer. */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description("manage a consumer's API keys");
  keys
    .command('create <consumer>')
    .description('create an API key; prints it once on stdout')
    .option('--name <name>', 'label of the key')
    .option('--expires-at <time>', 'RFC 3339 time, or a duration such as 90d or 12h')
    .action(async (consumer: string, options: { name?: string; expiresAt?: string }, command: Command) => {
      const expiresAt = parseExpiry(options.expiresAt);
      const created = await call<KeyView>(command, 'POST', `/consumers/${encodeURIComponent(consumer)}/keys`, {
        ...(options.name !== undefined ? { name: options.name } : {}),
        ...(expiresAt !== undefined ? { expiresAt } : {}),
      });
      if (!created?.key) throw new CliError('the admin API returned no key');
      printSecretOnce(created.key, 'API key', `Created API key ${created.id} for Consumer/${created.consumer}${created.expiresAt ? ` (expires ${created.expiresAt})` : ''}.`);
    });
  keys
    .command('create-bulk')
    .description('create up to 1,000 API keys at once, all or none; prints consumer,name,id,key as CSV on stdout, once')
    .requiredOption('--file <path>', 'JSON ([{ consumer, name?, expiresAt? }]) or CSV (header: consumer[,name][,expiresAt]); - for stdin')
    .action(async (options: { file: string }, command: Command) => {
      const text = options.file === '-' ? await readStdin() : await readFile(options.file, 'utf8').catch((e: Error) => { throw new CliError(`${options.file}: ${e.message}`); });
      const items = parseKeyFile(text, options.file === '-' ? 'stdin' : options.file);
      const created = await call<{ version: number; seq: number; items: KeyView[] }>(command, 'POST', '/keys/bulk', { items });
      const rows = created?.items ?? [];
      if (rows.length !== items.length || rows.some((k) => !k.key)) throw new CliError('the admin API returned no keys');
      process.stderr.write(`Created ${rows.length} API keys (change feed position ${created?.seq}).\nWARNING: these API keys are shown only once and cannot be retrieved again; store them now.\n`);
      // CSV (RFC 4180): a key label holding a comma or quote is quoted; the key is the last column.
      const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
      process.stdout.write(`consumer,name,id,key\n${rows.map((k) => [k.consumer, k.name ?? '', k.id, k.key ?? ''].map(cell).join(',')).join('\n')}\n`);
    });
  keys
    .command('list <consumer>')
    .description('list API keys of a consumer (never the secrets)')
    .action(async (consumer: string, _options: unknown, command: Command) => {
      const res = await call<{ items: KeyView[] }>(command, 'GET', `/consumers/${encodeURIComponent(consumer)}/keys`);
      // Keys declared in the Consumer document are stored as hashes: no prefix to show, and they
      // go away by changing the document, not with `keys revoke`.
      const rows = (res?.items ?? []).map((k) => [k.id, k.name ?? '', k.source === 'config' ? '(in YAML)' : `${k.prefix ?? ''}…${k.last4 ?? ''}`, k.createdAt ?? '', k.expiresAt ?? '', k.revokedAt ? `revoked ${k.revokedAt}` : 'active']);
      process.stdout.write(table(['ID', 'NAME', 'KEY', 'CREATED', 'EXPIRES', 'STATUS'], rows));
    });
  keys
    .command('revoke <consumer> <id>')
    .description('revoke an API key (every gateway stops accepting it within a second)')
    .action(async (consumer: string, id: string, _options: unknown, command: Command) => {
      await call(command, 'DELETE', `/consumers/${encodeURIComponent(consumer)}/keys/${encodeURIComponent(id)}`);
      process.stdout.write(`API key ${id} of Consumer/${consumer} revoked\n`);
    });
}

/** `tollgate tokens create|list|revoke`: admin-API tokens (role admin). */
export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description('manage admin-API tokens');
  tokens
    .command('create')
    .description('create an admin token; prints it once on stdout')
    .requiredOption('--name <name>', 'who or what uses the token')
    .addOption(new Option('--role <role>', 'role of the token').choices(['admin', 'operator', 'viewer', 'billing']).makeOptionMandatory())
    .action(async (options: { name: string; role: string }, command: Command) => {
      const created = await call<TokenView>(command, 'POST', '/admin-tokens', { name: options.name, role: options.role });
      if (!created?.token) throw new CliError('the admin API returned no token');
      printSecretOnce(created.token, 'admin token', `Created admin token ${created.id} "${created.name}" with role ${created.role}.`);
    });
  tokens
    .command('list')
    .description('list admin tokens (never the secrets)')
    .action(async (_options: unknown, command: Command) => {
      const res = await call<{ items: TokenView[] }>(command, 'GET', '/admin-tokens');
      const rows = (res?.items ?? []).map((t) => [t.id, t.name, t.role, t.createdAt, t.revokedAt ? `revoked ${t.revokedAt}` : 'active']);
      process.stdout.write(table(['ID', 'NAME', 'ROLE', 'CREATED', 'STATUS'], rows));
    });
  tokens
    .command('revoke <id>')
    .description('revoke an admin token')
    .action(async (id: string, _options: unknown, command: Command) => {
      await call(command, 'DELETE', `/admin-tokens/${encodeURIComponent(id)}`);
      process.stdout.write(`admin token ${id} revoked\n`);
    });
}
