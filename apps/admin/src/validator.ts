import { compileConfig } from '@tollgate/compiler';
import type { SetValidator } from '@tollgate/stores';

/** The production set validator: a set is valid when the compiler accepts it (references resolve, routes compile). */
export const compilerValidator: SetValidator = (resources) => {
  const result = compileConfig(resources, 0);
  return result.ok ? [] : result.issues;
};
