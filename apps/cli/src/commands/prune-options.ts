import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { ApplyResult, PruneScopeOptions } from '../admin-client.js';
import { CliError } from '../cli-error.js';
import { collect } from './common.js';

/** The options that scope `--prune`, shared by apply and diff. */
export function addPruneOptions(command: Command): Command {
  return command
    .option('--prune', 'delete resources that are not in the files, within the prune scope (not Consumer, Plan, Subscription unless --prune-billing)', false)
    .option('--prune-kind <kind>', 'only prune this kind (repeatable or comma-separated), like kubectl --prune-allowlist', collect, [])
    .option('-l, --selector <selector>', 'only prune resources whose labels match (key=value, key!=value, key, !key; comma = and)')
    .option('--prune-billing', 'allow the prune to delete billing kinds (Consumer, Plan, Subscription)', false);
}

export interface PruneFlags {
  prune: boolean;
  pruneKind: string[];
  selector?: string;
  pruneBilling: boolean;
}

/** The scope to send; the scoping flags without --prune are a mistake, not a no-op. */
export function pruneScopeOf(flags: PruneFlags): PruneScopeOptions {
  if (!flags.prune && (flags.pruneKind.length > 0 || flags.selector !== undefined || flags.pruneBilling)) {
    throw new CliError('--prune-kind, --selector and --prune-billing only apply together with --prune');
  }
  const kinds = flags.pruneKind.flatMap((k) => k.split(',')).map((k) => k.trim()).filter((k) => k !== '');
  return { ...(kinds.length > 0 ? { pruneKinds: kinds } : {}), ...(flags.selector !== undefined ? { selector: flags.selector } : {}), ...(flags.pruneBilling ? { pruneBilling: true } : {}) };
}

/** One stderr line naming the prune scope, so what is kept is never a surprise. */
export function describeScope(result: ApplyResult): string {
  if (!result.prune) return '';
  const kept = ['Consumer', 'Plan', 'Subscription'].filter((k) => !result.prune?.kinds.includes(k));
  return `Prune scope: ${result.prune.kinds.join(', ')}${result.prune.selector ? ` with labels ${result.prune.selector}` : ''}${kept.length > 0 ? ` (${kept.join(', ')} kept; --prune-billing to include)` : ''}\n`;
}

/**
 * Before a prune deletes anything: list what it would delete (from a server-side dry run), then
 * ask on a terminal; without a terminal only `--yes` lets it go ahead.
 */
export async function confirmDeletes(preview: ApplyResult, options: { yes: boolean; stdinUsed: boolean }): Promise<void> {
  const deletes = preview.changes.filter((c) => c.action === 'delete');
  if (deletes.length === 0) return;
  process.stderr.write(`The prune would delete ${deletes.length} resource${deletes.length === 1 ? '' : 's'}:\n${deletes.map((d) => `  ${d.kind}/${d.name}\n`).join('')}`);
  if (options.yes) return;
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true && !options.stdinUsed;
  if (!interactive) throw new CliError('refusing to delete without confirmation: re-run with --yes (nothing was changed)');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question('Delete them? [y/N] ')).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new CliError('aborted; nothing was changed');
  } finally {
    rl.close();
  }
}
