import { useEffect, useState } from 'preact/hooks';

/** The path segments of the location hash: `#consumers/acme` is `['consumers', 'acme']`. */
export function currentRoute(): string[] {
  return location.hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

/** The current hash route, updated on every `hashchange` (back and forward buttons work). */
export function useHashRoute(): string[] {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** A hash link to a route, each segment encoded. */
export const hrefOf = (...segments: string[]): string => `#${segments.map(encodeURIComponent).join('/')}`;
