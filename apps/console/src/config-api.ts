import { call, RawBody } from './api.js';
import type { ApiDocument } from './apis.js';

/** What an apply did to one resource. */
export interface Change {
  kind: string;
  name: string;
  action: 'create' | 'update' | 'delete' | 'unchanged';
}

/** One changed resource as a unified diff (stored YAML -> resulting YAML), from `POST /config?diff=true`. */
export interface ResourceDiff {
  kind: string;
  name: string;
  action: 'create' | 'update' | 'delete';
  patch: string;
}

/** A field of a Kubernetes / Istio document Tollgate does not implement, or an OpenAPI import warning. */
export interface Warning {
  document?: number;
  resource?: string;
  path?: string;
  pointer?: string;
  code?: string;
  message: string;
}

/** `POST /config` answer with `diff=true`. */
export interface ApplyResult {
  version: number;
  dryRun: boolean;
  changes: Change[];
  diff: ResourceDiff[];
  warnings: Warning[];
}

/**
 * Applies YAML documents (Tollgate's own, Kubernetes, Istio, Gateway API) in one transaction, or
 * only previews the apply with `dryRun`; always asks for the per-resource diff.
 */
export function applyYaml(yaml: string, dryRun: boolean): Promise<ApplyResult> {
  return call<ApplyResult>('POST', `/config?dryRun=${dryRun}&diff=true`, new RawBody(yaml, 'application/yaml'));
}

/** The same as {@link applyYaml} for documents already parsed (JSON). */
export function applyDocuments(documents: readonly unknown[], dryRun: boolean): Promise<ApplyResult> {
  return call<ApplyResult>('POST', `/config?dryRun=${dryRun}&diff=true`, documents);
}

/** `POST /apis/import` answer. */
export interface OpenApiImportResult {
  api: string;
  version: number;
  dryRun: boolean;
  openapi: string;
  changes: Change[];
  routes: { created: string[]; updated: string[]; unchanged: string[]; deleted: string[] };
  warnings: Warning[];
  resources: unknown[];
}

/** Imports an OpenAPI 3.x document (YAML or JSON text) as an Api and its Upstream, or previews it. */
export function importOpenApi(text: string, dryRun: boolean): Promise<OpenApiImportResult> {
  const json = text.trimStart().startsWith('{');
  return call<OpenApiImportResult>('POST', `/apis/import?dryRun=${dryRun}`, new RawBody(text, json ? 'application/json' : 'application/yaml'));
}

/** One Api as the admin API shows it (`GET /apis/{name}`). */
export const getApi = (name: string) => call<ApiDocument>('GET', `/apis/${encodeURIComponent(name)}`);

/** Lifecycle states of an Api, in their usual order. */
export type LifecycleState = 'draft' | 'published' | 'deprecated' | 'retired';

/** `POST /apis/{name}/lifecycle`. */
export const transition = (name: string, state: LifecycleState) => call<{ from: LifecycleState; to: LifecycleState; version: number }>('POST', `/apis/${encodeURIComponent(name)}/lifecycle`, { state });
