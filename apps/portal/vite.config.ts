import { defineConfig } from 'vite';

// Preact through esbuild's automatic JSX runtime. The portal's CSP has no 'unsafe-inline': every
// script and style is a file; Swagger UI is a separate chunk loaded by the reference page only.
export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
  },
});
