/**
 * Headless Chromium for browser tests: Debian's `chromium` driven by playwright-core. Tests never
 * install it (`.ci/run` does). Where it is missing a browser test fails in CI (CI=true) and is
 * skipped elsewhere, printing the one command that installs it.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { it } from 'vitest';
import type { Transport } from '../../core/contracts.js';

const EXECUTABLE = '/usr/bin/chromium';
export const CHROMIUM_INSTALL = 'apt-get install -y --no-install-recommends chromium';

/** Why the browser cannot run here, or undefined when it can. */
export const chromiumUnavailable: string | undefined = existsSync(EXECUTABLE)
  ? undefined
  : `chromium is not installed at ${EXECUTABLE}; install it with: ${CHROMIUM_INSTALL}`;

/** True in CI, where a missing dependency is a failure and never a skip. */
export const inCi = (env: NodeJS.ProcessEnv = process.env): boolean => env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';

/** Launches headless Chromium (playwright gives it a fresh temporary profile) with no background networking (this machine has no outside network). */
export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
    },
  };
}

/**
 * `it` for a test that needs the browser. Where Chromium is missing it fails in CI, and elsewhere is
 * skipped under the same name with the install command printed and in the name.
 */
export function browserTest(name: string, fn: () => Promise<void>, timeout?: number): void {
  const missing = chromiumUnavailable;
  if (missing === undefined) {
    it(name, fn, timeout);
    return;
  }
  if (inCi()) {
    it(name, () => { throw new Error(missing); });
    return;
  }
  console.warn(`browser test skipped (${name}): ${chromiumUnavailable}`);
  it.skip(`${name} (${chromiumUnavailable})`, () => undefined);
}

/**
 * Serves one HTML page from the broker itself: Chromium treats a page fulfilled by the test runner
 * as public and blocks its connections to loopback (local network access checks).
 */
export function pageTransport(path: string, html: string): Transport {
  return {
    name: 'test-page',
    attach(host) {
      host.onRequest(path, (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(html);
      });
    },
    close: async () => undefined,
  };
}
