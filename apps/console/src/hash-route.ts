import { useEffect, useState } from 'preact/hooks';

/** The location hash as path segments: `#apis/orders-v1` -> ['apis', 'orders-v1'] (decoded). */
export function currentRoute(): string[] {
  const raw = location.hash.replace(/^#\/?/, '');
  return raw === '' ? [] : raw.split('/').map((s) => decodeURIComponent(s));
}

/** The current hash route, updated on `hashchange` (back and forward buttons work, links are plain hrefs). */
export function useHashRoute(): string[] {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** The href of a console screen, its segments encoded. */
export const hrefOf = (...segments: string[]) => `#${segments.map(encodeURIComponent).join('/')}`;
