#!/usr/bin/env node
import { CliError } from './cli-error.js';
import { buildProgram } from './program.js';

/**
 * `npm run tollgate -- apply -f api.yaml` runs the script from the repository root; npm keeps the
 * caller's directory in INIT_CWD, so relative paths mean what the caller typed.
 */
if (process.env.npm_lifecycle_event === 'tollgate' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

/**
 * `tollgate export | head`: the reader went away, which is the reader's choice, not a failure.
 * Exit quietly like other Unix tools instead of crashing on EPIPE.
 */
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

/** Entry point of the `tollgate` binary: expected failures print one line, never a stack. */
async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CliError) {
      if (error.message) process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    // An unexpected failure is a bug: keep the stack for the report.
    process.stderr.write(`tollgate: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 70; // EX_SOFTWARE (sysexits.h)
  }
}

await main();
