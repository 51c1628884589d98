import { defineConfig } from 'vite';

// Preact through esbuild's automatic JSX runtime: no Babel plugin needed.
export default defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The console's CSP has no 'unsafe-inline': keep every script and style in files.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
