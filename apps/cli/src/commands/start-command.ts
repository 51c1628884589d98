import { Argument, type Command } from 'commander';
import { CliError } from '../cli-error.js';

/** `tollgate start [role]`: runs the gateway, the admin API, or both, until SIGTERM/SIGINT. */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run Tollgate (configured by environment variables; see the README)')
    .addArgument(new Argument('[role]', 'what this process runs').choices(['all', 'gateway', 'admin']).default('all'))
    .action(async (role: 'all' | 'gateway' | 'admin') => {
      // Loaded on demand: apply/diff/export must not pay for loading the gateway and databases.
      const { runUntilSignal } = await import('../start.js');
      try {
        await runUntilSignal({ role });
      } catch (error) {
        // Bad environment, unreachable database, port in use: an operator problem, not a bug.
        throw new CliError(`tollgate start failed: ${(error as Error).message}`);
      }
      // Stores and listeners are closed; end now rather than wait on a stray timer.
      process.exit(0);
    });
}
