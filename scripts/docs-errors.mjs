// Regenerates docs/errors.md from the error declarations (after `npm run build`).
import { writeFileSync } from 'node:fs';
import { renderErrorCatalogue } from '../apps/gateway/dist/error-catalogue.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorCatalogue());
