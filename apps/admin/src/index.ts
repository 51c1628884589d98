export { buildAdmin, DEFAULT_BODY_LIMIT, type AdminOptions } from './build-admin.js';
export { compilerValidator } from './validator.js';
export { hashToken } from './auth.js';
export { PROBLEM_STATUS, PROBLEM_CONTENT_TYPE, problemType, ProblemError, type Problem, type ProblemCode, type ProblemItem } from './problem.js';
export type { ApplyResponse } from './routes/config.js';
