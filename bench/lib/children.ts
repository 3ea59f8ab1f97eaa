/**
 * Child processes of a benchmark run: the server under test and the load clients each run in their
 * own process (optionally pinned with taskset), driven over the IPC channel with request/reply
 * calls. Every child is killed when the run ends, fails, or is interrupted; a child whose parent
 * vanishes exits by itself (see child-runtime.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killAll(): void {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/** CPUs for the server under test and for the load, when pinning is possible. */
export const CPU = { server: '0', clients: '1' } as const;

export interface SpawnOptions {
  /** taskset CPU list, applied when taskset works here. */
  cpu?: string;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  env?: Record<string, string>;
}

/** Spawns any executable (nats-server, say), tracked so it is killed with the run. */
export function spawnTracked(command: string, args: string[], options: { cpu?: string } = {}): ChildProcess {
  installHooks();
  const [cmd, argv] = options.cpu !== undefined && hasTaskset ? ['taskset', ['-c', options.cpu, command, ...args]] : [command, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Stops a process started by spawnTracked: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export async function stopTracked(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, graceMs);
    child.once('exit', () => { clearTimeout(t); resolve(); });
  });
}

/** A node child running one of bench/'s entry modules, answering `call`s over IPC. */
export class Child {
  readonly name: string;
  readonly process: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<void>;

  constructor(name: string, entry: string, args: string[], options: SpawnOptions = {}) {
    installHooks();
    this.name = name;
    const script = fileURLToPath(new URL(`../${entry}`, import.meta.url));
    const nodeArgv = ['--import', 'tsx', ...(options.nodeArgs ?? []), script, ...args];
    const [cmd, argv] = options.cpu !== undefined && hasTaskset
      ? ['taskset', ['-c', options.cpu, process.execPath, ...nodeArgv]]
      : [process.execPath, nodeArgv];
    this.process = spawn(cmd, argv, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // A shell's HERALD_* settings must not reconfigure the servers under measurement.
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HERALD_'))), ...options.env },
      serialization: 'advanced',
    });
    live.add(this.process);
    this.process.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(`${this.name}: ${m.error}`));
      else w.resolve(m.result);
    });
    this.exited = new Promise((resolve) => this.process.once('exit', (code, signal) => {
      live.delete(this.process);
      for (const w of this.waiting.values()) w.reject(new Error(`${this.name} exited (${code ?? signal})`));
      this.waiting.clear();
      resolve();
    }));
  }

  get pid(): number {
    return this.process.pid!;
  }

  call<T = unknown>(method: string, params: unknown = {}, timeoutMs = 120_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}.${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v as T); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.process.send({ id, method, params });
    });
  }

  /** Asks the child to exit, kills it if it has not within a second. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    try { this.process.disconnect(); } catch { /* channel already closed */ }
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 1000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Stops children in parallel, ignoring the ones already gone. */
export async function stopAll(children: Iterable<Child | undefined>): Promise<void> {
  await Promise.all([...children].map((c) => c?.stop()));
}
