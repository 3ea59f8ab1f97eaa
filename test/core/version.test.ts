import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { VERSION } from '../../core/version.js';

it('core/version.ts says the version package.json says (info() reports it)', () => {
  expect(VERSION).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
});
