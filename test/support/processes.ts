import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
export const MAIN_JS = join(ROOT, 'dist', 'src', 'main.js');
export const CLI_JS = join(ROOT, 'dist', 'src', 'cli.js');

/** Tests that run the compiled app need a build; `npm test` makes one, a bare `npx jest` may not. */
function requireBuild(file: string): void {
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (npm test does)`);
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface AppProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the process wrote so far, for failure messages. */
  output(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after the grace period); returns the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL, as a crash would; waits for the process to be gone. */
  kill9(): Promise<void>;
}

/** Children still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Starts `node dist/src/main.js` as its own process with the given environment (on top of this
 * process's) and resolves once it says it listens and GET /health/ready answers 200. PORT is
 * picked when not given.
 */
export async function spawnApp(env: Record<string, string>, options: { readyTimeoutMs?: number } = {}): Promise<AppProcess> {
  requireBuild(MAIN_JS);
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [MAIN_JS], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;

  const app: AppProcess = {
    url,
    port,
    child,
    output: () => output,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const done = exited(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
    kill9: async () => {
      const done = exited(child);
      child.kill('SIGKILL');
      await done;
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`app exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready:\n${output}`);
    }
    // Its own "listening" line first: another process that grabbed the port must not answer for it.
    if (/Custodian listening on/.test(output)) {
      try {
        const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return app;
      } catch {
        // not answering yet
      }
    }
    if (Date.now() > deadline) {
      await app.kill9();
      throw new Error(`app was not ready on ${url} within the timeout:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/src/cli.js <args>` with the given environment and collects its output. */
export async function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliResult> {
  requireBuild(CLI_JS);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_JS, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
