import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['herald-source'] },
  ssr: { resolve: { conditions: ['herald-source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores: files run two at a time; each test file owns its brokers on port 0.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
