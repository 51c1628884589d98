import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createTwoFilesPatch } from 'diff';
import { jsonDocuments, resourceKey, validateDocuments, type Resource } from '@tollgate/model';
import { AdminClient, ProblemResponseError, type ConfigChange } from '../admin-client.js';
import { CliError } from '../cli-error.js';
import { formatProblem } from '../print-problem.js';
import { formatChange } from './apply.js';
import { connectionOf } from './common.js';
import { normalize, yamlOf } from './diff.js';

/** What `POST /apis/import` answers. */
interface ImportAnswer {
  api: string;
  version: number;
  dryRun: boolean;
  openapi: string;
  changes: ConfigChange[];
  routes: { created: string[]; updated: string[]; unchanged: string[]; deleted: string[] };
  warnings: Array<{ pointer: string; code: string; message: string }>;
  resources: Array<Record<string, unknown>>;
}

interface ImportFlags {
  dryRun: boolean;
  name?: string;
  upstream?: string;
  basePath?: string;
  strict: boolean;
  validate: boolean;
  allowUnprotected: boolean;
}

/** The `import` command group (created once, shared by importers of other formats). */
function importGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'import') ?? program.command('import').description('import API descriptions of other formats as Tollgate resources');
}

/**
 * `tollgate import openapi <file> [--dry-run] [--name N] [--upstream URL] [--base-path P]
 * [--strict] [--validate] [--allow-unprotected]`: sends the document to `POST /apis/import`. A
 * dry run prints unified diffs of the Upstream and Api against what is stored (as `tollgate
 * diff` does), then what would happen to each route; warnings go to stderr. An operation whose
 * security the gateway cannot enforce as written fails the import unless --allow-unprotected.
 */
export function registerImportOpenApi(program: Command): void {
  importGroup(program)
    .command('openapi <file>')
    .description('create or update an Api from an OpenAPI 3.0/3.1 document (YAML or JSON; - for stdin)')
    .option('--dry-run', 'show the diff against what is stored, change nothing', false)
    .option('--name <name>', 'name of the Api and its Upstream (default: x-tollgate-api.name, else from info.title)')
    .option('--upstream <url>', 'upstream URL (origin and optional path) instead of the first server')
    .option('--base-path <path>', 'gateway base path of the Api (default: the path of the first server)')
    .option('--strict', 'fail on constructs Tollgate does not implement instead of warning', false)
    .option('--validate', 'validate requests against the document on every operation', false)
    .option(
      '--allow-unprotected',
      'import operations whose security requirement cannot be enforced as written (oauth2/OIDC/bearer without x-tollgate-jwt, http basic, cookie keys, mutualTLS, schemes required together, role names) with weaker or no authentication, warned; without it they fail the import',
      false,
    )
    .addHelpText(
      'after',
      '\nSecurity fails closed: an operation is never served with weaker authentication than its security\nrequirement unless --allow-unprotected is given. Map bearer/oauth2/openIdConnect schemes with\nx-tollgate-jwt, or attach key-auth/jwt-auth with x-tollgate-policies. See docs/openapi.md.\n',
    )
    .action(async (file: string, flags: ImportFlags, command: Command) => {
      const text = await readDocument(file);
      const client = new AdminClient(connectionOf(command));
      const options = { ...(flags.name ? { name: flags.name } : {}), ...(flags.upstream ? { upstream: flags.upstream } : {}), ...(flags.basePath ? { basePath: flags.basePath } : {}), strict: flags.strict, validate: flags.validate, ...(flags.allowUnprotected ? { allowUnprotected: true } : {}) };
      let answer: ImportAnswer;
      try {
        answer = (await client.json<ImportAnswer>('POST', `/apis/import?dryRun=${flags.dryRun}`, { document: text, options })) as ImportAnswer;
      } catch (error) {
        if (error instanceof ProblemResponseError) {
          process.stderr.write(formatProblem(error.problem).replace(/^( {2})line (\d+): /gm, `$1${file}:$2: `));
          throw new CliError('', 1);
        }
        throw error;
      }
      if (answer.dryRun) await printDiffs(client, answer);
      for (const c of answer.changes) process.stdout.write(`${formatChange(c, answer.dryRun)}\n`);
      const r = answer.routes;
      process.stdout.write(`routes${answer.dryRun ? ' (dry run)' : ''}: ${r.created.length} created, ${r.updated.length} updated, ${r.unchanged.length} unchanged, ${r.deleted.length} deleted\n`);
      for (const [what, list] of [['created', r.created], ['updated', r.updated], ['deleted', r.deleted]] as const) for (const name of list) process.stdout.write(`  ${what.padEnd(8)} ${answer.api}/${name}\n`);
      for (const w of answer.warnings) process.stderr.write(`Warning: ${w.pointer || '/'}: ${w.message}\n`);
    });
}

async function readDocument(file: string): Promise<string> {
  try {
    if (file !== '-') return await readFile(file, 'utf8');
    const parts: Buffer[] = [];
    for await (const part of process.stdin) parts.push(part as Buffer);
    return Buffer.concat(parts).toString('utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new CliError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${code ?? (error as Error).message})`);
  }
}

/** Unified diffs between the stored resources and the generated ones, for the resources that would change. */
async function printDiffs(client: AdminClient, answer: ImportAnswer): Promise<void> {
  const changed = answer.changes.filter((c) => c.action !== 'unchanged');
  if (changed.length === 0) return;
  const generated = validateDocuments(jsonDocuments(answer.resources));
  const local = new Map<string, Resource>(generated.ok ? generated.resources.map((x) => [resourceKey(x), x]) : []);
  const live = new Map((await client.exportJson()).items.map((x) => [resourceKey(x), normalize(x)]));
  for (const c of changed) {
    const key = `${c.kind}/${c.name}`;
    process.stdout.write(createTwoFilesPatch(`live/${key}`, `imported/${key}`, yamlOf(live.get(key)), yamlOf(local.get(key)), undefined, undefined, { context: 3 }));
  }
}
