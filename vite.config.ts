import { defineConfig } from 'vite';

// SharedArrayBuffer (guest RAM shared between the worker and the page) needs
// cross-origin isolation, so every server we run sends COOP/COEP.
export const crossOriginIsolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export default defineConfig({
  server: { headers: crossOriginIsolationHeaders, host: '127.0.0.1' },
  preview: { headers: crossOriginIsolationHeaders, host: '127.0.0.1' },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // The main page and the embedding example are both shipped.
    rollupOptions: { input: { main: 'index.html', embed: 'docs/embed.html' } },
  },
});
