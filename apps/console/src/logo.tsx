/** The Tollgate mark, inline SVG (no image request, allowed by the CSP as markup). */
export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="7" fill="currentColor" />
      <path d="M7 11h18v3H17.5v11h-3V14H7z" fill="#fff" />
    </svg>
  );
}
