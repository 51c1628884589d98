/**
 * Per-API path matching options: how spellings of a path that some upstreams read as the same
 * resource are treated. Each one is a way around a narrower route with a stricter policy when the
 * gateway and the upstream disagree (APISIX CVE-2021-43557, Envoy CVE-2019-9901: checking one
 * spelling while the upstream acts on another). The gateway routes on, gives policies and
 * forwards one value: the path after these options, so there is no check/forward split.
 *
 * - `matrixParams` (`;` segment parameters, RFC 3986 §3.3, `/admin;x=1/`): Tomcat and other Java
 *   servers drop them before mapping (`/public/..;/admin` reaches `/admin`), so `reject` (400) is
 *   the default, as in Spring Security's StrictHttpFirewall; `strip` removes them (then resolves
 *   dot-segments again) and forwards the stripped path; `keep` routes and forwards them as data.
 * - `trailingDots` (a segment ending in `.`, `/admin./`, also `%2E`): Windows and IIS ignore them;
 *   `reject` (default), `strip` (removed, then forwarded without), or `keep`.
 * - `caseInsensitive`: folds the path to lower case before routing; policies and the upstream
 *   see the folded path. For upstreams that ignore case (Express's default, ASP.NET, IIS), where
 *   `/ADMIN` would reach `/admin` through a broader route. Off by default: paths are
 *   case-sensitive (RFC 3986 §6.2.2.1), as in Envoy, APISIX and Kong, and folding changes
 *   identifiers in the path.
 */
import { normalizePath, PathError } from './normalize-path.js';

/** What is done with a path spelling. */
export type PathVariantAction = 'reject' | 'strip' | 'keep';

/** The path matching options of an API. */
export interface PathMatching {
  readonly caseInsensitive: boolean;
  readonly matrixParams: PathVariantAction;
  readonly trailingDots: PathVariantAction;
}

/** Defaults (docs/routing.md says why). */
export const DEFAULT_PATH_MATCHING: PathMatching = Object.freeze({ caseInsensitive: false, matrixParams: 'reject', trailingDots: 'reject' });

/** Bits of a path view: which transformations give the path a route is matched against. */
export const VIEW_STRIP_PARAMS = 1;
export const VIEW_STRIP_DOTS = 2;
export const VIEW_LOWER = 4;

/**
 * The view of a path an API's routes are matched against: `reject` matches as `strip` does (so
 * the route the request would take is found, and the request is then refused for it, never sent
 * on through a broader route).
 */
export function viewOf(pm: PathMatching): number {
  return (pm.matrixParams === 'keep' ? 0 : VIEW_STRIP_PARAMS) | (pm.trailingDots === 'keep' ? 0 : VIEW_STRIP_DOTS) | (pm.caseInsensitive ? VIEW_LOWER : 0);
}

/** A normalized path that holds a `;` (literal or `%3B`, normalization upper-cases escapes) or a segment ending in a dot. */
const VARIANT = /;|%3B|[^/]\.(?:\/|$)/;
const PARAMS = /;[^/]*/g;
const ENCODED_SEMICOLON = '%3B';
const TRAILING_DOTS = /\.+(?=\/|$)/g;
const HAS_TRAILING_DOT = /[^/]\.(?:\/|$)/;

/** True when a normalized path has a spelling some option acts on (one regex test). */
export function hasPathVariant(path: string): boolean {
  return VARIANT.test(path);
}

/**
 * A normalized path under a view: parameters cut from each segment (then dot-segments resolved
 * again, so `/a/..;/b` is `/b`), trailing dots cut from each segment (a segment of dots only
 * disappears), then lower case. Paths with nothing to change are returned as they are.
 */
export function pathView(path: string, view: number, variant = hasPathVariant(path)): string {
  let p = path;
  if (variant) {
    if ((view & VIEW_STRIP_PARAMS) !== 0 && p.includes(';')) p = normalizePath(p.replace(PARAMS, ''));
    if ((view & VIEW_STRIP_DOTS) !== 0 && HAS_TRAILING_DOT.test(p)) p = normalizePath(p.replace(TRAILING_DOTS, ''));
  }
  return (view & VIEW_LOWER) !== 0 ? p.toLowerCase() : p;
}

/**
 * The path the gateway routes on, gives policies and forwards for a route of an API with these
 * options (the view its route matched), or a {@link PathError} for a spelling the API refuses.
 */
export function applyPathMatching(path: string, pm: PathMatching): string {
  const variant = hasPathVariant(path);
  if (!variant && !pm.caseInsensitive) return path;
  if (variant) {
    if (pm.matrixParams === 'reject' && (path.includes(';') || path.includes(ENCODED_SEMICOLON))) {
      throw new PathError('MATRIX_PARAMS', 'the path contains ";" segment parameters, which this API refuses (spec.pathMatching.matrixParams)');
    }
    if (pm.trailingDots === 'reject' && HAS_TRAILING_DOT.test(path)) {
      throw new PathError('TRAILING_DOT', 'a path segment ends with ".", which this API refuses (spec.pathMatching.trailingDots)');
    }
  }
  return pathView(path, viewOf(pm), variant);
}
