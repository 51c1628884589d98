import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { AdminClient } from '../admin-client.js';
import { CliError } from '../cli-error.js';
import { connectionOf } from './common.js';

/** `tollgate export [-o file] [--format yaml|json]`: every resource, ready for `tollgate apply -f`. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write every resource as multi-document YAML (or a JSON List)')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .addOption(new Option('--format <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(async (options: { output?: string; format: 'yaml' | 'json' }, command: Command) => {
      const client = new AdminClient(connectionOf(command));
      const text = options.format === 'json' ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', ...(await client.exportJson()) }, null, 2)}\n` : await client.exportYaml();
      if (options.output === undefined) {
        process.stdout.write(text);
        return;
      }
      try {
        await writeFile(options.output, text, 'utf8');
      } catch (error) {
        throw new CliError(`${options.output}: cannot write (${(error as { code?: string }).code ?? (error as Error).message})`);
      }
    });
}
