/**
 * Headless Chromium for browser tests: Debian's `chromium` driven by playwright-core. Installs the
 * package when it is missing and apt-get can run; otherwise `chromiumUnavailable` says why (the
 * only case in which a browser test may skip, printing that reason).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { it } from 'vitest';
import type { Transport } from '../../core/contracts.js';

const EXECUTABLE = '/usr/bin/chromium';

function ensureInstalled(): string | undefined {
  if (existsSync(EXECUTABLE)) return undefined;
  try {
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium'], { stdio: 'ignore', timeout: 240_000 });
  } catch (err) {
    return `chromium is not installed and 'apt-get install chromium' failed: ${(err as Error).message}`;
  }
  return existsSync(EXECUTABLE) ? undefined : 'chromium is not installed at /usr/bin/chromium';
}

/** Why the browser cannot run here, or undefined when it can. */
export const chromiumUnavailable: string | undefined = ensureInstalled();

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
 * `it` for a test that needs the browser. Where Chromium cannot be had it is skipped under the same
 * name, with the reason printed and in the name: the only skip the project allows.
 */
export function browserTest(name: string, fn: () => Promise<void>, timeout?: number): void {
  if (chromiumUnavailable === undefined) {
    it(name, fn, timeout);
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
