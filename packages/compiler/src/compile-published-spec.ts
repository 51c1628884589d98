import type { Route } from '@tollgate/model';
import { compileActions } from './compile-route.js';
import type { CompiledRouteActions } from './types.js';

/**
 * An Api's published OpenAPI document, serialized once per snapshot around its `servers`: the
 * gateway answers `head + JSON.stringify(servers) + tail` with the servers of the request (its
 * scheme, host and the API base path), so nothing is re-serialized per request.
 */
export interface CompiledPublishedSpec {
  readonly head: string;
  readonly tail: string;
}

/** Route name of the published document (not a valid route name, so it never collides with one). */
export const PUBLISHED_SPEC_ROUTE = '_openapi';

const SENTINEL = '\u0000tollgate:servers\u0000';

/** Serializes the document with its `servers` where the document had them (else after `info`). */
export function compilePublishedSpec(document: Readonly<Record<string, unknown>>): CompiledPublishedSpec {
  const ordered: Record<string, unknown> = {};
  const keys = Object.keys(document);
  const at = keys.includes('servers') ? 'servers' : keys.includes('info') ? 'info' : null;
  if (at === null) ordered.servers = SENTINEL;
  for (const k of keys) {
    if (k === 'servers') {
      ordered.servers = SENTINEL;
      continue;
    }
    ordered[k] = document[k];
    if (k === 'info' && at === 'info') ordered.servers = SENTINEL;
  }
  const text = JSON.stringify(ordered);
  const marker = JSON.stringify(SENTINEL);
  const i = text.indexOf(marker);
  return { head: text.slice(0, i), tail: text.slice(i + marker.length) };
}

/** The actions of the published-document route: a direct 200 (the gateway fills the body per request). */
export function publishedSpecActions(): Omit<CompiledRouteActions, 'protocol'> {
  const route = { name: PUBLISHED_SPEC_ROUTE, match: [], directResponse: { status: 200, body: '', contentType: 'application/json' }, policies: [] } as unknown as Route;
  return compileActions(route);
}
