import type { Command } from 'commander';
import { AdminClient, ProblemResponseError, type ConfigChange } from '../admin-client.js';
import { CliError } from '../cli-error.js';
import { readInputs } from '../input-files.js';
import { formatProblem } from '../print-problem.js';
import { collect, connectionOf } from './common.js';
import { addPruneOptions, confirmDeletes, describeScope, pruneScopeOf, type PruneFlags } from './prune-options.js';

/** kubectl's words for what happened to a resource. */
const VERBS: Record<ConfigChange['action'], string> = { create: 'created', update: 'configured', unchanged: 'unchanged', delete: 'deleted' };

/** One output line per change, e.g. `Api/orders created`. */
export function formatChange(change: ConfigChange, dryRun: boolean): string {
  return `${change.kind}/${change.name} ${VERBS[change.action]}${dryRun ? ' (dry run)' : ''}`;
}

type ApplyFlags = PruneFlags & { filename: string[]; recursive: boolean; dryRun: boolean; strict: boolean; yes: boolean };

/** `tollgate apply -f <file|dir|-> [-R] [--dry-run] [--prune …]`: one all-or-nothing apply of every file. */
export function registerApply(program: Command): void {
  const command = program
    .command('apply')
    .description('apply resource files to the admin API in one transaction (like kubectl apply)')
    .requiredOption('-f, --filename <file>', 'YAML file or directory to apply, or - for stdin (repeatable)', collect, [])
    .option('-R, --recursive', 'with a directory, also read its subdirectories', false)
    .option('--dry-run', 'show what would change without changing anything', false)
    .option('--strict', 'fail when Kubernetes / Istio documents use fields Tollgate does not implement', false)
    .option('-y, --yes', 'delete what --prune selects without asking', false);
  addPruneOptions(command).action(async (options: ApplyFlags, cmd: Command) => {
    const scope = pruneScopeOf(options);
    const input = await readInputs(options.filename, { recursive: options.recursive });
    const client = new AdminClient(connectionOf(cmd));
    const request = { prune: options.prune, strict: options.strict, ...scope };
    try {
      if (options.prune && !options.dryRun) {
        // What a prune deletes is shown (and confirmed) before anything changes.
        const preview = await client.applyYaml(input.yaml, { ...request, dryRun: true });
        process.stderr.write(describeScope(preview));
        await confirmDeletes(preview, { yes: options.yes, stdinUsed: options.filename.includes('-') });
      }
      const result = await client.applyYaml(input.yaml, { ...request, dryRun: options.dryRun });
      if (options.dryRun) process.stderr.write(describeScope(result));
      for (const change of result.changes) process.stdout.write(`${formatChange(change, result.dryRun)}\n`);
      // Warnings go to stderr so stdout stays the list of changes (kubectl prints its warnings there too).
      for (const w of result.warnings ?? []) process.stderr.write(`Warning: document ${w.document} ${w.resource}: ${w.path ? `${w.path}: ` : ''}${w.message}\n`);
    } catch (error) {
      if (error instanceof ProblemResponseError) {
        process.stderr.write(formatProblem(error.problem, input));
        throw new CliError('', 1);
      }
      throw error;
    }
  });
}
