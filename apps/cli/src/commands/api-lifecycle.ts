import { Option, type Command } from 'commander';
import { LIFECYCLE_STATES } from '@tollgate/model';
import { AdminClient, ProblemResponseError } from '../admin-client.js';
import { CliError, problemLine } from '../cli-error.js';
import { collect, connectionOf } from './common.js';

/** An RFC 3339 time, or a duration from now (`90d`, `12h`), as RFC 3339. */
function timeOption(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const relative = /^(\d+)([hd])$/.exec(value);
  if (relative) return new Date(Date.now() + Number(relative[1]) * (relative[2] === 'h' ? 3_600_000 : 86_400_000)).toISOString();
  if (Number.isNaN(Date.parse(value))) throw new CliError(`${flag}: "${value}" is neither an RFC 3339 time nor a duration like 90d or 12h`);
  return value;
}

interface LifecycleOptions {
  sunset?: string;
  deprecatedAt?: string;
  successor?: string;
  link?: string;
  autoRetire?: boolean;
  preview: string[];
}

interface LifecycleAnswer {
  api: string;
  from: string;
  to: string;
  version: number;
  lifecycle: { sunsetAt?: string; deprecatedAt?: string; successor?: string; transitionedAt?: string };
}

interface ApiView {
  spec: { version?: string; lifecycle?: { state: string; deprecatedAt?: string; sunsetAt?: string; successor?: string; autoRetire?: boolean; transitionedAt?: string; history?: Array<{ from: string; to: string; at: string }> } };
}

/** `tollgate api lifecycle <name>`: the state as stored, its dates and its transitions. */
async function show(command: Command, name: string): Promise<void> {
  let view: ApiView | undefined;
  try {
    view = await new AdminClient(connectionOf(command)).json<ApiView>('GET', `/apis/${encodeURIComponent(name)}`);
  } catch (error) {
    if (error instanceof ProblemResponseError) throw new CliError(problemLine(error.problem));
    throw error;
  }
  const l = view?.spec.lifecycle;
  const lines = [`Api/${name} (${view?.spec.version ?? '?'}): ${l?.state ?? 'published'}`];
  if (l?.deprecatedAt) lines.push(`  deprecated at ${l.deprecatedAt}`);
  if (l?.sunsetAt) lines.push(`  sunset ${l.sunsetAt}${l.autoRetire ? ' (retires automatically)' : ''}`);
  if (l?.successor) lines.push(`  successor Api/${l.successor}`);
  for (const h of l?.history ?? []) lines.push(`  ${h.at}  ${h.from} -> ${h.to}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * `tollgate api lifecycle <name> [state]`: `POST /apis/{name}/lifecycle`. Prints the transition;
 * an illegal one exits 1 with the server's reason (`INVALID_TRANSITION: …`).
 */
export function registerApiLifecycle(program: Command): void {
  const api = program.commands.find((c) => c.name() === 'api') ?? program.command('api').description('manage APIs');
  api
    .command('lifecycle')
    .description(`move an Api through its lifecycle (${LIFECYCLE_STATES.join(' -> ')}; see docs/lifecycle.md)`)
    .argument('<name>', 'name of the Api')
    .addArgument(api.createArgument('[state]', 'target state; omit to show the current state and its history').choices(LIFECYCLE_STATES))
    .option('--sunset <time>', 'sunset: RFC 3339 time or a duration from now (90d, 12h)')
    .option('--deprecated-at <time>', 'deprecation time (default now when deprecating)')
    .option('--successor <api>', 'name of the Api that replaces this one')
    .option('--link <url>', 'URL of the deprecation documentation')
    .addOption(new Option('--auto-retire', 'answer 410 from the sunset on without another transition'))
    .addOption(new Option('--no-auto-retire', 'do not retire automatically at the sunset'))
    .option('--preview <consumer>', 'consumer allowed to call a draft (repeatable)', collect, [])
    .action(async (name: string, state: string | undefined, options: LifecycleOptions, command: Command) => {
      if (state === undefined) return show(command, name);
      const sunsetAt = timeOption('--sunset', options.sunset);
      const deprecatedAt = timeOption('--deprecated-at', options.deprecatedAt);
      const body = {
        state,
        ...(sunsetAt !== undefined ? { sunsetAt } : {}),
        ...(deprecatedAt !== undefined ? { deprecatedAt } : {}),
        ...(options.successor !== undefined ? { successor: options.successor } : {}),
        ...(options.link !== undefined ? { link: options.link } : {}),
        ...(options.autoRetire !== undefined ? { autoRetire: options.autoRetire } : {}),
        ...(options.preview.length > 0 ? { previewConsumers: options.preview } : {}),
      };
      let answer: LifecycleAnswer | undefined;
      try {
        answer = await new AdminClient(connectionOf(command)).json<LifecycleAnswer>('POST', `/apis/${encodeURIComponent(name)}/lifecycle`, body);
      } catch (error) {
        if (error instanceof ProblemResponseError) {
          const p = error.problem;
          const details = (p.errors ?? []).map((e) => `\n  ${e.path}: ${e.message}`).join('');
          throw new CliError(`${problemLine(p)}${details}`);
        }
        throw error;
      }
      if (answer === undefined) return;
      const l = answer.lifecycle;
      const extra = [l.deprecatedAt && answer.to === 'deprecated' ? `deprecated at ${l.deprecatedAt}` : '', l.sunsetAt ? `sunset ${l.sunsetAt}` : '', l.successor ? `successor ${l.successor}` : ''].filter((x) => x !== '');
      process.stdout.write(`Api/${answer.api}: ${answer.from} -> ${answer.to}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}, config version ${answer.version}\n`);
    });
}
