#!/usr/bin/env node
import { CliError } from './cli-error.js';
import { buildProgram } from './program.js';

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
