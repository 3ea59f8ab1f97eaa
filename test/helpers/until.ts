/**
 * The tests' one wait-for-a-condition loop: polls `check` until it holds (returning as soon as it
 * does, so no fixed sleeps), and fails after `timeoutMs` naming what it waited for (`what`, or the
 * check's own source when none is given).
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what?: string | (() => string),
  timeoutMs = 5000,
  intervalMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const awaited = what === undefined ? String(check) : typeof what === 'string' ? what : what();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${awaited}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
