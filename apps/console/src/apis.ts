import { call } from './api.js';

/** The parts of an Api document (`GET /apis`) the list shows. */
export interface ApiDocument {
  metadata: { name: string };
  spec: {
    version?: string;
    basePath?: string;
    hosts?: string[];
    description?: string;
    lifecycle?: { state?: string };
    routes?: unknown[];
  };
}

interface Page {
  items: ApiDocument[];
  next?: string;
}

/** One page of APIs in name order, from the public `GET /apis` (keyset pagination). */
export function listApis(after?: string): Promise<Page> {
  const query = new URLSearchParams({ limit: '100' });
  if (after !== undefined) query.set('after', after);
  return call<Page>('GET', `/apis?${query.toString()}`);
}
