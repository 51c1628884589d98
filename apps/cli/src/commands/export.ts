import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { exportAs, foreignYaml } from '@tollgate/importers';
import type { Resource } from '@tollgate/model';
import { AdminClient } from '../admin-client.js';
import { CliError } from '../cli-error.js';
import { connectionOf } from './common.js';

/** Writes the stored resources as Istio or Kubernetes documents; what has no mapping is warned about on stderr. */
async function foreignExport(client: AdminClient, format: 'istio' | 'k8s'): Promise<string> {
  // The JSON export holds validated documents with every default filled in.
  const resources = (await client.exportJson()).items as unknown as Resource[];
  const { documents, warnings } = exportAs(resources, format);
  for (const w of warnings) process.stderr.write(`Warning: ${w}\n`);
  return foreignYaml(documents);
}

/** `tollgate export [-o file] [--format yaml|json|istio|k8s]`: every resource, ready for `tollgate apply -f`. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write every resource as multi-document YAML (or a JSON List)')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .addOption(new Option('--format <format>', 'output format').choices(['yaml', 'json', 'istio', 'k8s']).default('yaml'))
    .action(async (options: { output?: string; format: 'yaml' | 'json' | 'istio' | 'k8s' }, command: Command) => {
      const client = new AdminClient(connectionOf(command));
      const text = options.format === 'istio' || options.format === 'k8s' ? await foreignExport(client, options.format) : options.format === 'json' ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', ...(await client.exportJson()) }, null, 2)}\n` : await client.exportYaml();
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
