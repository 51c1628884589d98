import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { registerApply } from './commands/apply.js';
import { registerApiLifecycle } from './commands/api-lifecycle.js';
import { DEFAULT_ADMIN_URL } from './commands/common.js';
import { registerKeys, registerTokens } from './commands/credentials.js';
import { registerDiff } from './commands/diff.js';
import { registerExport } from './commands/export.js';
import { registerImportOpenApi } from './commands/import-openapi.js';
import { registerMigrate } from './commands/migrate.js';
import { registerReport } from './commands/report-billing.js';
import { registerStart } from './commands/start-command.js';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The `tollgate` command line. */
export function buildProgram(): Command {
  const program = new Command('tollgate')
    .description('Tollgate API gateway: run it, migrate its database, and manage its configuration')
    .version(packageVersion())
    .addOption(new Option('--admin-url <url>', `admin API base URL (env TOLLGATE_ADMIN_URL, default ${DEFAULT_ADMIN_URL})`))
    .addOption(new Option('--token <token>', 'admin token (env TOLLGATE_ADMIN_TOKEN, then ADMIN_TOKEN)'))
    .showHelpAfterError()
    .enablePositionalOptions(false);
  registerStart(program);
  registerMigrate(program);
  registerApply(program);
  registerDiff(program);
  registerExport(program);
  registerImportOpenApi(program);
  registerKeys(program);
  registerTokens(program);
  registerReport(program);
  registerApiLifecycle(program);
  return program;
}
