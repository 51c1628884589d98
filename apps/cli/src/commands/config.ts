import type { Command } from 'commander';
import { stringify } from 'yaml';
import { configPath, readCliConfig, writeCliConfig, type CliContext } from '../cli-config.js';
import { CliError } from '../cli-error.js';

/**
 * `tollgate config …`: named contexts in `~/.config/tollgate/config.yaml`, like `kubectl config`,
 * so a product on custom ports is configured once and reached from any directory.
 */
export function registerConfig(program: Command): void {
  const config = program.command('config').description(`manage contexts (admin URL and token) in the CLI config file (env TOLLGATE_CONFIG, default ~/.config/tollgate/config.yaml)`);

  config
    .command('set-context <name>')
    .description('create or update a context; the first one created becomes the current one')
    // --admin-url and --token are the program's global options, read here as this context's.
    .option('--admin-url <url>', 'admin API base URL of this context')
    .option('--token <token>', 'admin token of this context (stored in the file, mode 0600)')
    .option('--token-file <file>', 'read the token from this file at each call instead of storing it')
    .option('--use', 'also make it the current context', false)
    .action((name: string, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<{ adminUrl?: string; token?: string; tokenFile?: string; use: boolean }>();
      const path = configPath();
      const file = readCliConfig(path);
      const previous = file.contexts[name];
      const adminUrl = options.adminUrl ?? previous?.adminUrl;
      if (adminUrl === undefined) throw new CliError(`context ${JSON.stringify(name)} is new: give --admin-url`);
      if (!/^https?:\/\/[^/]/.test(adminUrl)) throw new CliError(`--admin-url must be an http:// or https:// URL, not ${JSON.stringify(adminUrl)}`);
      if (options.token !== undefined && options.tokenFile !== undefined) throw new CliError('give --token or --token-file, not both');
      const context: CliContext = { adminUrl };
      const token = options.token ?? (options.tokenFile === undefined ? previous?.token : undefined);
      const tokenFile = options.tokenFile ?? (options.token === undefined ? previous?.tokenFile : undefined);
      if (token !== undefined) context.token = token;
      if (tokenFile !== undefined) context.tokenFile = tokenFile;
      file.contexts[name] = context;
      if (options.use || file.currentContext === undefined) file.currentContext = name;
      writeCliConfig(path, file);
      process.stdout.write(`Context "${name}" ${previous ? 'modified' : 'created'}${file.currentContext === name ? ' (current)' : ''} in ${path}\n`);
    });

  config
    .command('use-context <name>')
    .description('make a context the current one')
    .action((name: string) => {
      const path = configPath();
      const file = readCliConfig(path);
      if (!file.contexts[name]) throw new CliError(`no context named ${JSON.stringify(name)} in ${path}`);
      file.currentContext = name;
      writeCliConfig(path, file);
      process.stdout.write(`Switched to context "${name}".\n`);
    });

  config
    .command('current-context')
    .description('print the current context')
    .action(() => {
      const path = configPath();
      const current = readCliConfig(path).currentContext;
      if (current === undefined) throw new CliError(`no current context in ${path}`);
      process.stdout.write(`${current}\n`);
    });

  config
    .command('get-contexts')
    .description('list the contexts (* marks the current one)')
    .action(() => {
      const file = readCliConfig(configPath());
      for (const [name, c] of Object.entries(file.contexts)) process.stdout.write(`${name === file.currentContext ? '*' : ' '} ${name}\t${c.adminUrl}\n`);
    });

  config
    .command('delete-context <name>')
    .description('remove a context')
    .action((name: string) => {
      const path = configPath();
      const file = readCliConfig(path);
      if (!file.contexts[name]) throw new CliError(`no context named ${JSON.stringify(name)} in ${path}`);
      delete file.contexts[name];
      if (file.currentContext === name) delete file.currentContext;
      writeCliConfig(path, file);
      process.stdout.write(`Deleted context "${name}".\n`);
    });

  config
    .command('view')
    .description('print the config file with tokens redacted')
    .action(() => {
      const file = readCliConfig(configPath());
      const contexts = Object.fromEntries(Object.entries(file.contexts).map(([n, c]) => [n, c.token ? { ...c, token: 'REDACTED' } : c]));
      process.stdout.write(stringify({ ...file, contexts }));
    });
}
