export { buildProgram } from './program.js';
export { CliError } from './cli-error.js';
export { AdminClient, ProblemResponseError, type AdminConnection, type ApplyResult, type ConfigChange, type ProblemResponse } from './admin-client.js';
export { formatProblem } from './print-problem.js';
export { formatChange } from './commands/apply.js';
