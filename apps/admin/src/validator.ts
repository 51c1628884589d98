import { CompileCache, validateConfigAsync, type SelfEndpoints } from '@tollgate/compiler';
import type { SetValidator } from '@tollgate/stores';

/**
 * A set validator that keeps the compiled Apis of its previous validations: an apply validates
 * the Apis it changes (and those whose inputs it changes), not the whole set again (#16). It
 * compiles in slices, so an admin sharing its process with the gateway (embedded mode) does not
 * stall requests while it validates. `self`: the listeners targets must not point at. `cache`:
 * the data plane's, when it runs in this process (`start all`): the reload after an apply then
 * reuses what the validation compiled (see CompileCache).
 */
export function createCompilerValidator(self?: SelfEndpoints, cache: CompileCache = new CompileCache()): SetValidator {
  return (resources) => validateConfigAsync(resources, self === undefined ? { cache } : { self, cache });
}

/** The production set validator: a set is valid when the compiler accepts it (references resolve, routes compile). */
export const compilerValidator: SetValidator = createCompilerValidator();
