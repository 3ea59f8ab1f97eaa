/**
 * The package as a user gets it: `npm pack` (which builds dist/ and the prebuilt client bundle),
 * then the tarball installed into a fresh ESM project and a fresh CommonJS one. Each imports the
 * broker, a transport and the client, runs a publish end to end, and type-checks against the
 * shipped declarations; the installed binary serves the dashboard (uPlot included) and /client.js
 * without esbuild or tsx. Installs come from the local npm cache first (--prefer-offline), each
 * bounded in time; nothing is installed in the repository.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from './helpers/child-env.js';

const exec = promisify(execFile);
const REPO = resolve('.');
const TSC = join(REPO, 'node_modules', '.bin', 'tsc');
let dir: string;
let tarball: string;

const ESM_APP = `import { createBroker } from 'herald';
import { ws } from 'herald/transports/ws';
import { HeraldClient } from 'herald/client';
const broker = await createBroker({ port: 0, transports: [ws()], logger: false });
const client = new HeraldClient({ url: 'ws://127.0.0.1:' + broker.address().port + '/ws' });
await client.connect();
let resolveGot;
const got = new Promise((resolve) => { resolveGot = resolve; });
const sub = client.subscribe('a.b', (m) => resolveGot(m.data));
await sub.ready();
await client.publish('a.b', { hi: 1 });
console.log(JSON.stringify({ esm: await got }));
await client.close();
await broker.close();
`;

const CJS_APP = `const { createBroker } = require('herald');
const { ws } = require('herald/transports/ws');
(async () => {
  const broker = await createBroker({ port: 0, transports: [ws()], logger: false });
  const result = await broker.publish('a.b', 1);
  console.log(JSON.stringify({ cjs: typeof result.offset }));
  await broker.close();
})();
`;

const TYPED = (ext: 'mts' | 'cts') => `import { createBroker, type Broker } from 'herald';
import { ws } from 'herald/transports/ws';
import { HeraldClient } from 'herald/client';
import { HeraldError, type Transport } from 'herald/plugin';
const plugin: Transport = { name: 'none', attach() {}, async close() {} };
void plugin;
void new HeraldError('internal');
export async function start(): Promise<Broker> {
  const broker = await createBroker({ port: 0, transports: [ws()] });
  const offset: number | undefined = (await broker.publish('a.b', 1)).offset;
  void offset;
  void new HeraldClient({ url: 'ws://127.0.0.1:1/ws' });
  // @ts-expect-error the declarations must catch a wrong option type
  void createBroker({ port: 'x' });
  return broker;
}
// ${ext}
`;

function project(name: string, type: 'module' | 'commonjs', files: Record<string, string>): string {
  const root = join(dir, name);
  mkdirSync(root);
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name, private: true, type }));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(root, file), text);
  return root;
}

async function install(root: string): Promise<void> {
  await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: root, timeout: 180_000 });
}

async function node(root: string, file: string): Promise<string> {
  return (await exec(process.execPath, [file], { cwd: root, env: childEnv(), timeout: 20_000 })).stdout;
}

async function typecheck(root: string, file: string): Promise<void> {
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    files: [file],
  }));
  await exec(TSC, ['-p', '.'], { cwd: root, timeout: 90_000 });
}

describe('the packed package', () => {
  let esm: string;
  let cjs: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-pack-'));
    await exec('npm', ['pack', '--pack-destination', dir], { cwd: REPO, timeout: 120_000 });
    tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
    esm = project('esm-app', 'module', {
      'app.js': ESM_APP,
      'typed.mts': TYPED('mts'),
    });
    cjs = project('cjs-app', 'commonjs', { 'app.js': CJS_APP, 'typed.cts': TYPED('cts') });
    await Promise.all([install(esm), install(cjs)]);
  }, 300_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('ships LICENSE, README, dist with the prebuilt client bundle, and needs neither tsx nor esbuild at run time', () => {
    const pkg = join(esm, 'node_modules', 'herald');
    for (const f of ['LICENSE', 'README.md', 'dist/core/index.js', 'dist/core/index.d.ts', 'dist/client/browser.js', 'dist/bin/herald.js']) expect(existsSync(join(pkg, f)), f).toBe(true);
    expect(existsSync(join(esm, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(esm, 'node_modules', 'esbuild'))).toBe(false);
  });

  it('an ESM project imports broker, transport and client and runs a publish end to end', async () => {
    expect(JSON.parse(await node(esm, 'app.js'))).toEqual({ esm: { hi: 1 } });
  });

  it('a CommonJS project requires it (Node 20.19+ loads ES modules with require)', async () => {
    expect(JSON.parse(await node(cjs, 'app.js'))).toEqual({ cjs: 'number' });
  });

  it('both type-check against the shipped declarations (a wrong option is an error: the types are real, not any)', async () => {
    await typecheck(esm, 'typed.mts');
    await typecheck(cjs, 'typed.cts');
  }, 120_000);

  it('the installed binary serves the dashboard, uPlot and /client.js, and stops on SIGTERM', async () => {
    const child = spawn(join(esm, 'node_modules', '.bin', 'herald'), ['--port', '0'], { cwd: esm, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const line = out.split('\n').find((l) => l.includes('herald listening'));
          if (line) resolve((JSON.parse(line) as { port: number }).port);
        });
        child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
        child.once('exit', (code) => reject(new Error(`herald exited ${code}: ${out}`)));
      });
      for (const [path, type] of [['/', 'text/html'], ['/dashboard/uplot.js', 'javascript'], ['/dashboard/uplot.css', 'text/css'], ['/client.js', 'javascript']]) {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        expect(res.status, path).toBe(200);
        expect(res.headers.get('content-type'), path).toContain(type);
      }
      expect(await (await fetch(`http://127.0.0.1:${port}/client.js`)).text()).toMatch(/HeraldClient/);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    expect(child.exitCode).toBe(0);
  }, 30_000);
});
