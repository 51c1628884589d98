import { useState } from 'preact/hooks';

/** Copies a value to the clipboard; says so, and falls back to selecting the text where the Clipboard API is unavailable (plain HTTP). */
export function CopyButton({ value, label, targetId }: { value: string; label: string; targetId?: string }) {
  const [done, setDone] = useState<'copied' | 'select' | undefined>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setDone('copied');
    } catch {
      // Not a secure context, or permission refused: select the text so Ctrl+C copies it.
      const el = targetId !== undefined ? document.getElementById(targetId) : null;
      if (el) getSelection()?.selectAllChildren(el);
      setDone('select');
    }
  };
  return (
    <button type="button" class="secondary copy" onClick={copy} aria-label={label}>
      {done === 'copied' ? 'Copied' : done === 'select' ? 'Selected: press Ctrl+C' : 'Copy'}
    </button>
  );
}
