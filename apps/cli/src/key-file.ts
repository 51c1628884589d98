import { CliError } from './cli-error.js';

/** One key to create with `tollgate keys create-bulk`. */
export interface BulkKeyItem {
  consumer: string;
  name?: string;
  expiresAt?: string;
}

const COLUMNS = ['consumer', 'name', 'expiresAt'] as const;

/**
 * Reads the items of `tollgate keys create-bulk --file`: JSON (an array of items, or
 * `{ "items": [...] }`) or CSV with a header line naming `consumer` and optionally `name` and
 * `expiresAt` (no quoting: consumer names cannot hold a comma; a label with one goes in JSON).
 * Values are passed on as given; the admin API validates them and names the bad item's index.
 */
export function parseKeyFile(text: string, fileName: string): BulkKeyItem[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (e) {
      throw new CliError(`${fileName}: not valid JSON: ${(e as Error).message}`);
    }
    const items = Array.isArray(value) ? value : (value as { items?: unknown }).items;
    if (!Array.isArray(items)) throw new CliError(`${fileName}: expected an array of { consumer, name?, expiresAt? } or { "items": [...] }`);
    return items as BulkKeyItem[];
  }
  const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const header = (lines.shift() ?? '').split(',').map((h) => h.trim());
  if (!header.includes('consumer')) throw new CliError(`${fileName}: the CSV header must name a "consumer" column (and optionally "name", "expiresAt")`);
  const unknown = header.filter((h) => !(COLUMNS as readonly string[]).includes(h));
  if (unknown.length > 0) throw new CliError(`${fileName}: unknown CSV column(s) ${unknown.map((u) => `"${u}"`).join(', ')}; expected ${COLUMNS.join(', ')}`);
  return lines.map((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== header.length) throw new CliError(`${fileName}: line ${i + 2} has ${cells.length} fields, the header ${header.length}`);
    const item: BulkKeyItem = { consumer: '' };
    header.forEach((h, j) => {
      const v = cells[j] ?? '';
      if (v !== '') item[h as keyof BulkKeyItem] = v;
    });
    return item;
  });
}
