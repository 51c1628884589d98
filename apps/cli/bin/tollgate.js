#!/usr/bin/env -S node --max-semi-space-size=4
// The `tollgate` command. A committed shim rather than dist/main.js itself, so npm can link the
// bin at install time, before the TypeScript has been built. The shebang carries the V8 flags every
// Tollgate process starts with (apps/cli/src/node-flags.ts; `env -S` splits them, coreutils 8.30+).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('tollgate is not built yet: run `npm run build` (or `npm start`) in the repository first.\n');
  process.exit(1);
}
await import(main.href);
