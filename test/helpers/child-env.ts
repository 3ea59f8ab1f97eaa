/**
 * The environment for a child process a test starts: the runner's own, minus everything that would
 * configure Herald (HERALD_*, and PORT and HOST, which the binary reads), plus what the test sets. A developer's
 * shell with HERALD_NATS_URL or HERALD_CONFIG exported must not change what a test measures.
 */
export function childEnv(extra: Record<string, string | undefined> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (key.startsWith('HERALD_') || key === 'PORT' || key === 'HOST') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}
