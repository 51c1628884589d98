export { buildAdmin, DEFAULT_BODY_LIMIT, type AdminOptions } from './build-admin.js';
export { compilerValidator, createCompilerValidator } from './validator.js';
export { adminRoutes, hashToken, type AdminRoute } from './auth.js';
export { PROBLEM_STATUS, PROBLEM_CONTENT_TYPE, problemType, ProblemError, type Problem, type ProblemCode, type ProblemItem } from './problem.js';
export type { ApplyResponse } from './routes/config.js';
export { ROUTE_RULES, ROLE_PERMISSIONS, ruleOf, rolesWith, type Permission, type RouteRule } from './permissions.js';
export { AuthThrottle, type AuthThrottleOptions } from './auth-throttle.js';
export { API_KEY_PREFIX, generateApiKey } from './routes/api-keys.js';
export { ADMIN_TOKEN_PREFIX } from './routes/admin-tokens.js';
