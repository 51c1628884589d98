/** `getPetById` → `get-pet-by-id`; anything else than lower-case letters, digits, `.` and `-` becomes `-`. */
export function kebab(s: string, max = 63): string {
  const k = s
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[.-]+|[.-]+$/g, '');
  return k.slice(0, max).replace(/[.-]+$/g, '');
}

/**
 * The route name of an operation: its `operationId` in kebab case, else the method and the path
 * (`get-pets-pet-id`). Deterministic, so re-importing an edited document keeps each operation's
 * route (and its id `api/route`) as long as the operationId (or method and path) is the same.
 */
export function routeName(operationId: unknown, method: string, path: string): string {
  if (typeof operationId === 'string') {
    const k = kebab(operationId);
    if (k !== '') return k;
  }
  const p = kebab(path.replace(/[{}]/g, ''));
  return kebab(`${method}-${p === '' ? 'root' : p}`);
}

/** A valid capture name (`[A-Za-z_][A-Za-z0-9_]{0,31}`, the router's rule) for an OpenAPI parameter name. */
export function captureName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 32);
  return /^[A-Za-z_]/.test(s) ? s : `p${s}`.slice(0, 32);
}
