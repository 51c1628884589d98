// Regenerates the event catalogue section of docs/events.md from the event schemas (after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';
import { EVENT_CATALOGUE_BEGIN, EVENT_CATALOGUE_END, renderEventCatalogue } from '@tollgate/model';

const file = new URL('../docs/events.md', import.meta.url);
const text = readFileSync(file, 'utf8');
const start = text.indexOf(EVENT_CATALOGUE_BEGIN);
const end = text.indexOf(EVENT_CATALOGUE_END);
if (start === -1 || end === -1) throw new Error('docs/events.md lacks the catalogue markers');
writeFileSync(file, text.slice(0, start) + renderEventCatalogue() + text.slice(end + EVENT_CATALOGUE_END.length + 1));
