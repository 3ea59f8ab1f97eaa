/**
 * Doc-tests: every code block of README.md runs as written against a broker started with
 * `npm start`, in order, and prints what the `text output` block after it says. The conventions
 * (which info strings run how, `no-run`, ports) are in the comment at the top of README.md;
 * a block added there is covered here without touching this file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from './helpers/child-env.js';
import { browserTest, launchChromium } from './helpers/chromium.js';
import { codeBlocks, matchesOutput, type CodeBlock } from './helpers/markdown-blocks.js';

const README = 'README.md';
const DIR = 'test-artifacts/readme';
const BLOCK_TIMEOUT = 20_000;
/** The port the README's text gives the broker. */
const README_BROKER_PORT = '8080';

const blocks = codeBlocks(readFileSync(README, 'utf8'));
const RUNNERS = new Set(['js', 'ts', 'html', 'sh']);
/** Flags a block may carry besides the language. */
const FLAGS = new Set(['no-run', 'output', 'browser']);

/** Each runnable block with the output block right after it, if any. */
const runnable = blocks.flatMap((b, i) => {
  if (b.flags.includes('no-run') || b.flags.includes('output')) return [];
  const next = blocks[i + 1];
  return [{ block: b, expected: next?.flags.includes('output') ? next.code : undefined }];
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let broker: { child: ChildProcess; port: number } | undefined;
/** README port -> the port used in this run (8080 is the broker's; any other gets a free port). */
const ports = new Map<string, number>();

async function rewritePorts(code: string): Promise<string> {
  const pattern = /(\b(?:127\.0\.0\.1|localhost):|\bport: |\blisten\(|--port )(\d{2,5})\b/g;
  for (const [, , port] of code.matchAll(pattern)) if (!ports.has(port!)) ports.set(port!, await freePort());
  return code.replace(pattern, (_m, before: string, port: string) => `${before}${ports.get(port)}`);
}

function startBroker(): Promise<{ child: ChildProcess; port: number }> {
  return new Promise(async (resolve, reject) => {
    const port = await freePort();
    ports.set(README_BROKER_PORT, port);
    const child = spawn('npm', ['start', '--silent', '--', '--port', String(port)], { env: childEnv({ HERALD_LOG_FORMAT: 'json' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`npm start did not listen: ${out}`)), 20_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('herald listening')) { clearTimeout(timer); resolve({ child, port }); }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`npm start exited ${code}: ${out}`)); });
  });
}

function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv({ NODE_NO_WARNINGS: '1' }) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => { stderr += `\n(killed after ${BLOCK_TIMEOUT} ms: the block did not exit)`; child.kill('SIGKILL'); }, BLOCK_TIMEOUT);
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** A Node snippet as a page runs it: the browser has WebSocket and EventSource, so their imports go. */
function inBrowser(code: string): string {
  const nodeOnly = /^import [^;]+ from '(?:ws|eventsource)';\n/gm;
  expect(nodeOnly.test(code), 'a `js browser` block imports ws or eventsource (why else flag it?)').toBe(true);
  return code.replace(nodeOnly, '');
}

function where(b: CodeBlock): string {
  return `${README}:${b.line} (${b.heading}, ${b.lang})`;
}

/** Runs a js/ts/sh block; returns what it printed on stdout. */
async function runInNode(b: CodeBlock, code: string): Promise<string> {
  mkdirSync(DIR, { recursive: true });
  const file = `${DIR}/block-${b.line}.${b.lang === 'sh' ? 'sh' : 'ts'}`;
  writeFileSync(file, code);
  const result = b.lang === 'sh'
    ? await run('sh', ['-e', file])
    : await run(process.execPath, ['--conditions=herald-source', '--import', 'tsx', file]);
  if (result.code !== 0) throw new Error(`${where(b)} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
let pageServer: Server | undefined;

/** Serves the html block from another origin (a second port) and collects the page's console until it matches. */
async function runInBrowser(b: CodeBlock, code: string, expected: string | undefined): Promise<string> {
  chromium ??= await launchChromium();
  pageServer?.close();
  pageServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><meta charset="utf-8"><title>README ${b.line}</title>\n${code}`);
  });
  await new Promise<void>((r) => pageServer!.listen(0, '127.0.0.1', r));
  const tab = await chromium.browser.newPage();
  const printed: string[] = [];
  const errors: string[] = [];
  tab.on('console', (m) => (m.type() === 'error' ? errors : printed).push(m.text()));
  tab.on('pageerror', (e) => errors.push(String(e)));
  try {
    await tab.goto(`http://127.0.0.1:${(pageServer.address() as { port: number }).port}/`);
    const deadline = Date.now() + BLOCK_TIMEOUT;
    while (Date.now() < deadline && errors.length === 0 && !(expected === undefined || matchesOutput(printed.join('\n'), expected))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (errors.length > 0) throw new Error(`${where(b)}: console errors:\n${errors.join('\n')}`);
    return printed.join('\n');
  } finally {
    await tab.close();
  }
}

describe('README.md', () => {
  beforeAll(async () => { broker = await startBroker(); }, 30_000);
  afterAll(async () => {
    pageServer?.close();
    await chromium?.close();
    if (broker && broker.child.exitCode === null) {
      const exited = new Promise((r) => broker!.child.once('exit', r));
      broker.child.kill('SIGTERM');
      await exited;
    }
  });

  it('has blocks, and every one is runnable, an output block, or no-run', () => {
    expect(runnable.length).toBeGreaterThan(5);
    for (const b of blocks) {
      if (b.flags.includes('no-run') || b.flags.includes('output')) continue;
      expect(RUNNERS.has(b.lang), `${where(b)}: no runner for "${b.lang}" (mark it no-run or output)`).toBe(true);
      for (const f of b.flags) expect(FLAGS.has(f), `${where(b)}: unknown flag "${f}"`).toBe(true);
      if (b.flags.includes('browser')) expect(b.lang, `${where(b)}: only js blocks run in the browser too`).toBe('js');
    }
    for (const [i, b] of blocks.entries()) {
      if (b.flags.includes('output')) expect(blocks[i - 1] && !blocks[i - 1]!.flags.includes('no-run'), `${where(b)}: output of a block that does not run`).toBe(true);
    }
  });

  for (const { block, expected } of runnable) {
    const name = `${block.heading}: the ${block.lang} block at line ${block.line} runs${expected ? ' and prints what the README says' : ''}`;
    const body = async () => {
      const code = await rewritePorts(block.code);
      const printed = block.lang === 'html' ? await runInBrowser(block, code, expected) : await runInNode(block, code);
      if (expected !== undefined) expect(matchesOutput(printed, expected), `${where(block)} printed:\n${printed}\nexpected:\n${expected}`).toBe(true);
    };
    if (block.lang === 'html') browserTest(name, body, 40_000);
    else it(name, body, 40_000);
    if (block.flags.includes('browser')) {
      browserTest(`${block.heading}: the js block at line ${block.line} also runs in Chromium from another origin`, async () => {
        const code = await rewritePorts(inBrowser(block.code));
        const printed = await runInBrowser(block, `<script type="module">\n${code}</script>\n`, expected);
        if (expected !== undefined) expect(matchesOutput(printed, expected), `${where(block)} in Chromium printed:\n${printed}\nexpected:\n${expected}`).toBe(true);
      }, 40_000);
    }
  }
});
