/**
 * Path templates (`/orders/{id}/items/{item}`): literal segments compare exactly, each `{name}`
 * matches one non-empty segment and captures it. Compiled to a native RegExp once per snapshot;
 * the generated pattern is a sequence of literals and `([^/]+)` groups separated by `/`, which
 * cannot backtrack more than linearly, so the native engine is safe here.
 */
export interface CompiledTemplate {
  readonly regex: RegExp;
  /** Capture names in group order. */
  readonly names: readonly string[];
  /** Number of literal characters: the more, the more specific. */
  readonly literalLength: number;
  /**
   * The literal segments before the first capture (all but the last segment when there is no
   * capture), joined by `/`: every match starts with this followed by `/`. Null when the first
   * segment is a capture. The route table indexes templates by it.
   */
  readonly literalLead: string | null;
}

const CAPTURE = /^\{([A-Za-z_][A-Za-z0-9_]{0,31})\}$/;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiles a template; throws on a capture name used twice (the model checks the syntax). */
export function compileTemplate(template: string): CompiledTemplate {
  const names: string[] = [];
  let literalLength = 0;
  const segments = template.split('/');
  let firstCapture = -1;
  const parts = segments.map((seg, i) => {
    const m = CAPTURE.exec(seg);
    if (m?.[1] === undefined) {
      literalLength += seg.length + 1;
      return escapeRegExp(seg);
    }
    if (names.includes(m[1])) throw new Error(`capture "${m[1]}" appears twice in ${template}`);
    names.push(m[1]);
    if (firstCapture === -1) firstCapture = i;
    return '([^/]+)';
  });
  const leadSegments = firstCapture === -1 ? segments.length - 1 : firstCapture;
  const literalLead = leadSegments === 0 ? null : segments.slice(0, leadSegments).join('/');
  return { regex: new RegExp(`^${parts.join('/')}$`), names, literalLength, literalLead };
}

/** Capture names of a template (for validation), or an error message. */
export function templateCaptures(template: string): { ok: true; names: readonly string[] } | { ok: false; message: string } {
  try {
    return { ok: true, names: compileTemplate(template).names };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}
