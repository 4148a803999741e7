import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../../src/database/embedded-postgres';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Spawns the compiled service (`node dist/src/main.js`) the way a user runs it, and cleans up
 * after it: every spawned process is killed and every embedded PostgreSQL it left behind is
 * stopped, even when a test fails half-way.
 */

const ROOT = resolve(__dirname, '..', '..');
export const MAIN_JS = join(ROOT, 'dist', 'src', 'main.js');
export const CLI_JS = join(ROOT, 'dist', 'src', 'cli.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedApp {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly dataDir: string;
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** `http://127.0.0.1:<port><path>` */
  url(path: string): string;
  /**
   * Resolves once this process says it listens on its port and GET /health/ready answers 200;
   * rejects with the output if the process dies first. (Without the first condition another
   * process that happened to grab the port could answer for it.)
   */
  ready(timeoutMs?: number): Promise<void>;
  /** Sends the signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

const spawned = new Set<SpawnedApp>();
const dataDirs = new Set<string>();

export function ensureBuilt(): void {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npm run build\` (npm test does it) before this test`);
}

/** A fresh DATA_DIR under the OS temp folder, removed (after stopping its database) by cleanUp(). */
export function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-boot-'));
  dataDirs.add(dir);
  return dir;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The promise's value, or undefined after ms; the timer never outlives the race. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolveOpen(true);
    });
    socket.once('error', () => resolveOpen(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolveOpen(false);
    });
  });
}

/**
 * Starts the compiled app with a clean environment: only PATH/HOME from ours (so a DATABASE_URL,
 * JWT_SECRET… exported in the developer's shell or by the test setup cannot leak in), plus
 * DATA_DIR, PORT, HOST and the given variables. A variable set to undefined is left out.
 */
export async function spawnApp(dataDir: string, env: Record<string, string | undefined> = {}): Promise<SpawnedApp> {
  const port = env.PORT !== undefined ? Number(env.PORT) : await freePort();
  const fullEnv: Record<string, string> = {};
  const base = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env };
  for (const [key, value] of Object.entries(base)) if (value !== undefined) fullEnv[key] = value;

  const child = spawn(process.execPath, [MAIN_JS], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<Exit>((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const app: SpawnedApp = {
    child,
    pid: child.pid!,
    port,
    dataDir,
    exited,
    stdout: () => out,
    stderr: () => err,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    async ready(timeoutMs = 45_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (hasExited) break;
        if (!out.includes(`listening on http://127.0.0.1:${port}`)) {
          await sleep(50);
          continue;
        }
        const status = await fetch(app.url('/health/ready'), { signal: AbortSignal.timeout(2000) }).then(
          (res) => res.status,
          () => 0,
        );
        if (status === 200) return;
        await sleep(100);
      }
      const why = hasExited ? `exited (${JSON.stringify(await exited)})` : `not ready after ${timeoutMs} ms`;
      throw new Error(`app ${why}\n--- stdout ---\n${out.slice(-3000)}\n--- stderr ---\n${err.slice(-3000)}`);
    },
    async stop(signal = 'SIGINT', timeoutMs = 20_000) {
      if (!hasExited) child.kill(signal);
      const result = await within(exited, timeoutMs);
      if (!result) {
        child.kill('SIGKILL');
        throw new Error(`app did not exit within ${timeoutMs} ms of ${signal}\n--- stdout ---\n${out.slice(-3000)}\n--- stderr ---\n${err.slice(-3000)}`);
      }
      return result;
    },
  };
  spawned.add(app);
  return app;
}

/** Pid from line 1 of DATA_DIR/pg/postmaster.pid, if the file exists. */
export function postmasterPid(pgDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A running (not zombie) process with that pid. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of the postgres servers whose command line names this data folder (`postgres -D <pgDir>`). */
export function postgresServing(pgDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const d = argv.indexOf('-D');
    if (argv[0]?.endsWith('postgres') && d > 0 && resolve(argv[d + 1] ?? '') === resolve(pgDir)) pids.push(Number(entry));
  }
  return pids;
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(50);
  }
  return check();
}

/** Stops whatever PostgreSQL still serves pgDir: SIGQUIT (immediate shutdown), then SIGKILL. */
export async function killPostgres(pgDir: string): Promise<void> {
  const pids = new Set(postgresServing(pgDir));
  const fromFile = postmasterPid(pgDir);
  if (fromFile && isRunning(fromFile)) pids.add(fromFile);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      /* already gone */
    }
  }
  if (await waitFor(() => [...pids].every((pid) => !isRunning(pid)), 5000)) return;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Kills every spawned app, stops every PostgreSQL left in a temp DATA_DIR, removes the folders. */
export async function cleanUp(): Promise<void> {
  for (const app of spawned) {
    if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    await within(app.exited, 5000);
  }
  spawned.clear();
  for (const dir of dataDirs) {
    await killPostgres(join(dir, 'pg'));
    rmSync(dir, { recursive: true, force: true });
  }
  dataDirs.clear();
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/src/cli.js <args>` with the given environment on top of ours and collects its output. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliResult> {
  if (!existsSync(CLI_JS)) throw new Error(`${CLI_JS} is missing: run \`npm run build\` (npm test does it) first`);
  return new Promise((resolveRun) => {
    execFile(process.execPath, [CLI_JS, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolveRun({ code, stdout, stderr });
    });
  });
}
