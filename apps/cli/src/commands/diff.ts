import type { Command } from 'commander';
import { createTwoFilesPatch } from 'diff';
import { jsonDocuments, parseResourcesYaml, resourceKey, toYaml, validateDocuments, type Resource } from '@tollgate/model';
import { AdminClient, ProblemResponseError, type ResourceDocument } from '../admin-client.js';
import { CliError } from '../cli-error.js';
import { readInputs } from '../input-files.js';
import { formatProblem } from '../print-problem.js';
import { collect, connectionOf } from './common.js';
import { addPruneOptions, pruneScopeOf, type PruneFlags } from './prune-options.js';

/** Exit codes, as `kubectl diff`: 0 no differences, 1 differences, above 1 an error. */
export const DIFF_EXIT = { same: 0, different: 1, error: 2 } as const;

/** A live document passed through the same model as the local ones, so key order and defaults match. */
export function normalize(document: ResourceDocument): Resource {
  const result = validateDocuments(jsonDocuments([document]));
  return result.ok && result.resources[0] ? result.resources[0] : (document as unknown as Resource);
}

/** YAML of one resource without the leading document marker, or '' for an absent one. */
export function yamlOf(resource: Resource | undefined): string {
  return resource ? toYaml([resource]).replace(/^---\n/, '') : '';
}

/**
 * `tollgate diff -f <file> [--prune]`: a server-side dry run says which resources would change;
 * each is shown as a unified diff between the stored YAML and the YAML of the file (both with
 * defaults filled by the same model, so only real differences show).
 */
export function registerDiff(program: Command): void {
  const cmd = program
    .command('diff')
    .description('show what an apply would change, as unified diffs (exit 0: none, 1: changes, 2: error)')
    .requiredOption('-f, --filename <file>', 'YAML file or directory, or - for stdin (repeatable)', collect, [])
    .option('-R, --recursive', 'with a directory, also read its subdirectories', false);
  addPruneOptions(cmd);
  cmd.action(async (options: DiffFlags, command: Command) => {
      try {
        await diff(options, command);
      } catch (error) {
        // Exit 1 means "differences" for diff; every failure must be above it.
        if (error instanceof CliError && error.exitCode === 1) throw new CliError(error.message, DIFF_EXIT.error);
        throw error;
      }
    });
}

type DiffFlags = PruneFlags & { filename: string[]; recursive: boolean };

async function diff(options: DiffFlags, command: Command): Promise<void> {
  const scope = pruneScopeOf(options);
  const input = await readInputs(options.filename, { recursive: options.recursive });
  const client = new AdminClient(connectionOf(command));
  let changes;
  try {
    changes = (await client.applyYaml(input.yaml, { dryRun: true, prune: options.prune, ...scope })).changes;
  } catch (error) {
    if (error instanceof ProblemResponseError) {
      process.stderr.write(formatProblem(error.problem, input));
      throw new CliError('', DIFF_EXIT.error);
    }
    throw error;
  }
  const changed = changes.filter((c) => c.action !== 'unchanged');
  if (changed.length === 0) return;
  const parsed = parseResourcesYaml(input.yaml);
  // The server accepted the same text, so a local failure means the CLI's model is out of date.
  if (!parsed.ok) throw new CliError(`the files are valid for the server but not for this CLI (${parsed.issues[0]?.message ?? 'unknown'}): is the CLI older than the server?`, DIFF_EXIT.error);
  const local = new Map(parsed.resources.map((r) => [resourceKey(r), r]));
  const live = new Map((await client.exportJson()).items.map((r) => [resourceKey(r), normalize(r)]));
  for (const c of changed) {
    const key = `${c.kind}/${c.name}`;
    const before = yamlOf(live.get(key));
    const after = c.action === 'delete' ? '' : yamlOf(local.get(key));
    process.stdout.write(createTwoFilesPatch(`live/${key}`, `merged/${key}`, before, after, undefined, undefined, { context: 3 }));
  }
  process.exitCode = DIFF_EXIT.different;
}
