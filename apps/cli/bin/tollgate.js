#!/usr/bin/env node
// The `tollgate` command. A committed shim rather than dist/main.js itself, so npm can link the
// bin at install time, before the TypeScript has been built.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('tollgate is not built yet: run `npm run build` (or `npm start`) in the repository first.\n');
  process.exit(1);
}
await import(main.href);
