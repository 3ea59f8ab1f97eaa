/**
 * Real nats-server processes for tests: a single node with JetStream, or a cluster with routes, on
 * loopback ports, each with its own JetStream store in a temp dir. Client and monitoring ports are
 * picked by the server itself (`-1`, read back from its ports file), so no other process can take
 * them between a check and the bind; cluster ports (which every member's routes must name up front)
 * are taken free and the launch is retried if one was taken meanwhile. A restart binds the same
 * ports again (clients reconnect to the same URL), retrying while the old socket lingers. Every
 * process started here is killed by stop() (call it in afterAll/afterEach) and, as a last resort,
 * when the worker exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const INSTALL_HINT = 'nats-server is not on PATH: the NATS adapter tests run real servers. Install it with `apt-get install -y nats-server` (Debian/Ubuntu) and run the tests again.';

let binary: string | undefined;

/**
 * Path of the nats-server binary; throws (failing the test, never skipping it) when it is missing.
 * Debian installs it in /usr/sbin, which is not on every user's PATH, hence the extra directories.
 */
export function natsServerBinary(path = process.env.PATH ?? '', extraDirs = ['/usr/sbin', '/usr/local/sbin']): string {
  const usual = arguments.length === 0;
  if (usual && binary !== undefined) return binary;
  for (const dir of [...path.split(delimiter), ...extraDirs]) {
    if (dir === '') continue;
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate) && spawnSync(candidate, ['--version']).status === 0) {
      if (usual) binary = candidate;
      return candidate;
    }
  }
  throw new Error(INSTALL_HINT);
}

/** A port free right now on 127.0.0.1 (the kernel picks it); only for ports that must be known before the bind. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface NatsServer {
  readonly name: string;
  readonly port: number;
  /** Client URL, nats://127.0.0.1:<port>. */
  readonly url: string;
  /** HTTP monitoring port (/varz, /connz, /healthz). */
  readonly monitorPort: number;
  readonly storeDir: string;
  /** True while the process runs. */
  readonly alive: boolean;
  /** GET a monitoring endpoint and parse its JSON ('/connz?subs=1'). */
  monitor<T = any>(path: string): Promise<T>;
  /** kill -9: no goodbye to clients or routes. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and store (after kill()); `graceful`: stop it with SIGTERM first (a rolling upgrade). */
  restart(options?: { graceful?: boolean }): Promise<void>;
}

interface ServerSpec {
  name: string;
  /** 0 until the server picked one (then the same on every restart). */
  port: number;
  monitorPort: number;
  clusterPort?: number;
  routes?: number[];
  clusterName?: string;
  storeDir: string;
  configFile: string;
}

class ServerProcess implements NatsServer {
  readonly spec: ServerSpec;
  private proc: ChildProcess | undefined;
  private output = '';

  constructor(spec: ServerSpec) {
    this.spec = spec;
  }

  private writeConfig(): void {
    const spec = this.spec;
    mkdirSync(portsDir(spec), { recursive: true });
    const lines = [
      `server_name: ${spec.name}`,
      `listen: 127.0.0.1:${spec.port || -1}`,
      `http: 127.0.0.1:${spec.monitorPort || -1}`,
      `ports_file_dir: ${JSON.stringify(portsDir(spec))}`,
      `jetstream { store_dir: ${JSON.stringify(spec.storeDir)}, max_memory_store: 256MB, max_file_store: 1GB }`,
    ];
    if (spec.clusterPort !== undefined) {
      lines.push(`cluster {`, `  name: ${spec.clusterName}`, `  listen: 127.0.0.1:${spec.clusterPort}`,
        `  routes: [${spec.routes!.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}]`, `}`);
    }
    writeFileSync(spec.configFile, lines.join('\n') + '\n');
  }

  /** The server's own ports file (written once it listens): learns the ports it picked. */
  private readPorts(): boolean {
    const pid = this.proc?.pid;
    const dir = portsDir(this.spec);
    const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith(`_${pid}.ports`)) : undefined;
    if (file === undefined) return false;
    try {
      const ports = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nats?: string[]; monitoring?: string[] };
      const port = Number(new URL(ports.nats![0]!).port);
      const monitorPort = Number(new URL(ports.monitoring![0]!).port);
      if (!port || !monitorPort) return false;
      this.spec.port = port;
      this.spec.monitorPort = monitorPort;
      return true;
    } catch {
      return false; // half written
    }
  }

  /** True when the last start failed because a port was taken. */
  get portTaken(): boolean {
    return /address already in use/i.test(this.output);
  }

  get name() { return this.spec.name; }
  get port() { return this.spec.port; }
  get url() { return `nats://127.0.0.1:${this.spec.port}`; }
  get monitorPort() { return this.spec.monitorPort; }
  get storeDir() { return this.spec.storeDir; }
  get alive() { return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null; }

  spawn(): void {
    this.writeConfig();
    const proc = spawn(natsServerBinary(), ['-c', this.spec.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.output = '';
    const keep = (b: Buffer) => { this.output = (this.output + b.toString()).slice(-8000); };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    this.proc = proc;
  }

  async monitor<T = any>(path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.spec.monitorPort}${path}`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** Waits until /healthz says ok (JetStream current with its meta leader, when clustered). */
  async ready(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.alive) throw new Error(`nats-server ${this.name} exited:\n${this.output}`);
      if (this.spec.monitorPort !== 0 || this.readPorts()) {
        try {
          const res = await fetch(`http://127.0.0.1:${this.spec.monitorPort}/healthz`, { signal: AbortSignal.timeout(1000) });
          if (res.ok) return;
        } catch { /* not listening yet */ }
      }
      if (Date.now() > deadline) throw new Error(`nats-server ${this.name} not ready after ${timeoutMs} ms:\n${this.output}`);
      await sleep(50);
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || !this.alive) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    // A graceful stop gets 10 s before it is killed after all.
    const forced = signal === 'SIGKILL' ? undefined : setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(forced);
  }

  /** Starts it again on the same ports and store; retries while the port is still held (a lingering socket). */
  async restart(options: { graceful?: boolean } = {}): Promise<void> {
    await this.kill(options.graceful ? 'SIGTERM' : 'SIGKILL');
    for (let attempt = 0; ; attempt++) {
      this.spawn();
      try {
        await this.ready();
        return;
      } catch (err) {
        if (!this.portTaken || attempt >= 20) throw err;
        await this.kill();
        await sleep(100);
      }
    }
  }
}

export interface NatsCluster {
  readonly servers: readonly NatsServer[];
  /** Every member's client URL. */
  readonly urls: string[];
  /** Kills every process and removes the JetStream stores. */
  stop(): Promise<void>;
}

const portsDir = (spec: ServerSpec) => join(spec.storeDir, '..', `${spec.name}-ports`);

async function launch(specs: ServerSpec[], root: string): Promise<NatsCluster> {
  const servers = specs.map((s) => new ServerProcess(s));
  const stop = async () => {
    await Promise.all(servers.map((s) => s.kill()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const s of servers) s.spawn();
    await Promise.all(servers.map((s) => s.ready()));
    if (servers.length > 1) {
      const deadline = Date.now() + 15_000;
      for (const s of servers) {
        while ((await s.monitor<{ num_routes: number }>('/routez')).num_routes < servers.length - 1) {
          if (Date.now() > deadline) throw new Error(`nats cluster: ${s.name} did not route to every member`);
          await sleep(50);
        }
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { servers, urls: servers.map((s) => s.url), stop };
}

/** One nats-server with JetStream on random ports. */
export async function startNatsServer(): Promise<NatsCluster & { server: NatsServer; url: string }> {
  natsServerBinary();
  const root = mkdtempSync(join(tmpdir(), 'herald-nats-'));
  const spec: ServerSpec = { name: 'solo', port: 0, monitorPort: 0, storeDir: join(root, 'js'), configFile: join(root, 'solo.conf') };
  const cluster = await launch([spec], root);
  return { ...cluster, server: cluster.servers[0]!, url: cluster.urls[0]! };
}

/** `size` nats-servers with JetStream, fully routed to each other, on random ports. */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  natsServerBinary();
  for (let attempt = 0; ; attempt++) {
    const root = mkdtempSync(join(tmpdir(), 'herald-natsc-'));
    const clusterPorts: number[] = [];
    for (let i = 0; i < size; i++) clusterPorts.push(await freePort());
    const specs: ServerSpec[] = [];
    for (let i = 0; i < size; i++) {
      specs.push({
        name: `n${i + 1}`, port: 0, monitorPort: 0,
        clusterPort: clusterPorts[i], routes: clusterPorts.filter((_, j) => j !== i), clusterName: 'herald-test',
        storeDir: join(root, `js${i + 1}`), configFile: join(root, `n${i + 1}.conf`),
      });
    }
    try {
      return await launch(specs, root);
    } catch (err) {
      // A cluster port taken between freePort() and the bind: try again with others.
      if (attempt >= 3 || !/address already in use/i.test((err as Error).message)) throw err;
    }
  }
}
