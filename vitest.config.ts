import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: [
      { find: '@', replacement: path.resolve(import.meta.dirname) },
      // next-auth imports these without an extension, which Node's ESM resolver refuses.
      { find: /^next\/(server|headers|navigation)$/, replacement: 'next/$1.js' },
    ],
  },
  test: {
    environment: 'node',
    include: ['lib/**/*.test.ts', 'db/**/*.test.ts'],
    globalSetup: ['./vitest.global-setup.ts'],
    setupFiles: ['./vitest.setup.ts'],
    pool: 'forks',
    // Processed by Vite (not Node) so that the next/* aliases above apply inside them.
    server: { deps: { inline: ['next-auth', '@auth/core'] } },
    // Integration tests share one PostgreSQL database; running files one at a time keeps
    // per-file assumptions (row counts, throttle state) simple and honest.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
