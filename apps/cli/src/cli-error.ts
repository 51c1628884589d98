import type { ProblemResponse } from './admin-client.js';

/** An expected failure: printed as one line (no stack) and turned into the process exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A problem answer of the admin API as one line, `CODE: detail` (`FORBIDDEN: …`). */
export function problemLine(problem: ProblemResponse): string {
  return `${problem.code ?? problem.status}: ${problem.detail ?? problem.title}`;
}
