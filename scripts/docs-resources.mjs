// Regenerates docs/resources.md from the resource schemas (after `npm run build`).
import { writeFileSync } from 'node:fs';
import { renderResourceReference } from '@tollgate/model';

writeFileSync(new URL('../docs/resources.md', import.meta.url), renderResourceReference());
