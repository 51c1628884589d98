import { defineConfig } from 'drizzle-kit';

// The schema files are listed one by one (not the index) so drizzle-kit loads each table file
// without resolving the `.js` ESM specifiers of the barrel.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./packages/db/src/schema/resources.ts', './packages/db/src/schema/config-state.ts', './packages/db/src/schema/admin-tokens.ts', './packages/db/src/schema/api-keys.ts', './packages/db/src/schema/audit-log.ts', './packages/db/src/schema/usage.ts', './packages/db/src/schema/gateway-nodes.ts', './packages/db/src/schema/events.ts', './packages/db/src/schema/oauth.ts', './packages/db/src/schema/resource-changes.ts', './packages/db/src/schema/portal.ts', './packages/db/src/schema/sessions.ts'],
  out: './migrations',
  strict: true,
  verbose: true,
});
