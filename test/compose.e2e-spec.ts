import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { load } from 'js-yaml';
import { API_PREFIX_EXCLUDE } from '../src/app.setup';
import { ConfigError, EnvironmentVariables, loadConfig } from '../src/config/app-config';

/*
 * docker/compose.yaml, checked without Docker: `docker compose config` where the Compose client is
 * installed, and everywhere the structure that client would not catch (files the build needs,
 * variables the app would refuse or ignore, health checks compose waits on).
 */

interface Build { context: string; dockerfile?: string }
interface Healthcheck { test?: string | string[]; interval?: string; timeout?: string; start_period?: string; retries?: number; disable?: boolean }
interface Service {
  image?: string;
  build?: string | Build;
  depends_on?: string[] | Record<string, { condition?: string }>;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number; published?: string | number; host_ip?: string; protocol?: string })[];
  volumes?: (string | { type: string; source?: string; target: string })[];
  healthcheck?: Healthcheck;
}
interface ComposeFile { name?: string; services: Record<string, Service>; volumes?: Record<string, unknown> }

const FILE = join(__dirname, '..', 'docker', 'compose.yaml');
const compose = load(readFileSync(FILE, 'utf8')) as ComposeFile;
const services = Object.entries(compose.services ?? {});
const app = compose.services.app;

const buildOf = (s: Service): Build | undefined => (typeof s.build === 'string' ? { context: s.build } : s.build);
const contextOf = (s: Service) => resolve(dirname(FILE), buildOf(s)!.context);
const dockerfileOf = (s: Service) => resolve(contextOf(s), buildOf(s)!.dockerfile ?? 'Dockerfile');
const dependencies = (s: Service): [string, string][] =>
  Array.isArray(s.depends_on) ? s.depends_on.map((name) => [name, 'service_started']) : Object.entries(s.depends_on ?? {}).map(([name, d]) => [name, d?.condition ?? 'service_started']);
const environment = (s: Service): Record<string, string> => Object.fromEntries(
  Array.isArray(s.environment)
    ? s.environment.map((entry) => [entry.split('=')[0], entry.slice(entry.indexOf('=') + 1)])
    : Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]),
);

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(dockerfile: string): { op: string; args: string }[] {
  return readFileSync(dockerfile, 'utf8').replace(/\\\r?\n/g, ' ').split(/\r?\n/)
    .map((line) => line.trim()).filter((line) => line && !line.startsWith('#'))
    .map((line) => ({ op: line.split(/\s+/)[0].toUpperCase(), args: line.slice(line.split(/\s+/)[0].length).trim() }));
}

/** Every variable the app reads: each property of EnvironmentVariables carries a validator. */
const KNOWN = new Set(getMetadataStorage().getTargetValidationMetadatas(EnvironmentVariables, '', true, false).map((m) => m.propertyName));

/** What the app itself requires with NODE_ENV=production, from its own validation. */
function requiredInProduction(): string[] {
  try {
    loadConfig({ NODE_ENV: 'production' });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => /^(\w+) is required when NODE_ENV=production$/.exec(p)?.[1]).filter((v): v is string => !!v);
  }
  throw new Error('loadConfig accepted a production configuration without any secret');
}

/** A value a person would put in `.env` for a variable the file insists on (`${NAME:?…}`). */
function sample(name: string): string {
  if (name.endsWith('_KEY')) return randomBytes(32).toString('base64');
  if (name.endsWith('_SECRET')) return randomBytes(36).toString('base64url');
  if (name.endsWith('_PASSWORD')) return 'a long enough sample password';
  return `sample-${name.toLowerCase()}`;
}

/** Compose's interpolation (`$$`, `${X}`, `${X:-d}`, `${X-d}`, `${X:?e}`, `${X?e}`) against `env`. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)/g, (whole, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare)!;
    const set = env[name] !== undefined && (op?.startsWith(':') ? env[name] !== '' : true);
    if (op?.endsWith('-')) return set ? env[name] : arg!;
    if (op?.endsWith('?') && !set) throw new Error(`${name}: ${arg}`);
    return env[name] ?? '';
  });
}

/** The variables the file demands from whoever runs it (`${NAME:?…}` or `${NAME?…}`), with sample values. */
const demanded = (): Record<string, string> => Object.fromEntries(
  [...readFileSync(FILE, 'utf8').matchAll(/\$\{(\w+):?\?/g)].map(([, name]) => [name, sample(name)]),
);

const hasComposeClient = () => spawnSync('docker', ['compose', 'version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;

describe('docker/compose.yaml', () => {
  it('is a compose file whose every service has an image or a build with its Dockerfile and the files it copies', () => {
    if (hasComposeClient()) {
      const checked = spawnSync('docker', ['compose', '-f', FILE, 'config', '-q'], { encoding: 'utf8', env: { ...process.env, ...demanded() }, timeout: 30_000 });
      expect({ status: checked.status, stderr: checked.stderr }).toEqual({ status: 0, stderr: '' });
    }
    expect(services.length).toBeGreaterThan(0);
    for (const [name, s] of services) {
      expect([name, !!s.image || !!s.build]).toEqual([name, true]);
      if (!s.build) continue;
      expect([name, 'context', statSync(contextOf(s)).isDirectory()]).toEqual([name, 'context', true]);
      expect([name, 'Dockerfile', existsSync(dockerfileOf(s))]).toEqual([name, 'Dockerfile', true]);
      // COPY from the build context: every source is there, and .dockerignore does not keep it out.
      const ignorePath = join(contextOf(s), '.dockerignore');
      const ignored = new Set(existsSync(ignorePath) ? readFileSync(ignorePath, 'utf8').split(/\r?\n/).map((l) => l.trim().replace(/^\/|\/$/g, '')).filter(Boolean) : []);
      const copies = instructions(dockerfileOf(s)).filter((i) => (i.op === 'COPY' || i.op === 'ADD') && !/--from=/.test(i.args));
      expect(copies.length).toBeGreaterThan(0);
      for (const copy of copies) {
        const sources = copy.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1);
        for (const source of sources) {
          expect([source, existsSync(join(contextOf(s), source))]).toEqual([source, true]);
          expect([source, ignored.has(source.split('/')[0])]).toEqual([source, false]);
        }
      }
    }
  });

  it('depends only on services of the file, and waits for health only where there is a health check', () => {
    const names = new Set(services.map(([name]) => name));
    for (const [name, s] of services) {
      for (const [dependency, condition] of dependencies(s)) {
        expect([name, dependency, names.has(dependency)]).toEqual([name, dependency, true]);
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') {
          const check = compose.services[dependency].healthcheck;
          expect([dependency, Array.isArray(check?.test) ? check.test[0] : typeof check?.test]).toEqual([dependency, expect.stringMatching(/^(CMD|CMD-SHELL|string)$/)]);
          for (const key of ['interval', 'timeout', 'start_period'] as const) {
            if (check?.[key] !== undefined) expect(check[key]).toMatch(/^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
          }
        }
      }
    }
    // The service needs its database before it can migrate and serve: it waits for it to be healthy.
    expect(dependencies(app)).toContainEqual(['postgres', 'service_healthy']);
  });

  it('sets only variables the app knows, demands every secret the app needs in production, and passes the app\'s own validation', () => {
    const raw = environment(app);
    expect(Object.keys(raw).filter((name) => !KNOWN.has(name))).toEqual([]);
    const required = requiredInProduction();
    expect(required).toEqual(expect.arrayContaining(['DATABASE_URL', 'JWT_SECRET', 'MASTER_KEY', 'BLIND_INDEX_KEY', 'SIGNING_KEY']));
    expect(raw.NODE_ENV).toBe('production');
    for (const name of required) {
      expect([name, name in raw]).toEqual([name, true]);
      // A secret comes from whoever runs it, never a default in the file: compose refuses to start without it.
      if (name !== 'DATABASE_URL') expect([name, raw[name]]).toEqual([name, expect.stringMatching(new RegExp(`^\\$\\{${name}:\\?.+\\}$`))]);
    }
    // With them, the app's own boot-time validation is satisfied.
    const env = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, interpolate(v, demanded())]));
    const config = loadConfig(env);
    expect(config.nodeEnv).toBe('production');
    // The URLs name services of this file.
    expect(Object.keys(compose.services)).toContain(new URL(config.databaseUrl!).hostname);
    expect(Object.keys(compose.services)).toContain(new URL(config.smtpUrl!).hostname);
  });

  it('publishes well-formed ports, the app\'s on the port it listens on', () => {
    const short = /^(?:(?:\[[0-9a-fA-F:]+\]|[0-9.]+):)?(?:(\d+)(?:-(\d+))?:)?(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/;
    const inRange = (p: string | undefined) => p === undefined || (Number(p) >= 1 && Number(p) <= 65535);
    const containerPorts = (s: Service) => (s.ports ?? []).map((p) => {
      if (typeof p === 'object') {
        expect(inRange(String(p.target)) && inRange(p.published === undefined ? undefined : String(p.published).split('-')[0])).toBe(true);
        return p.target;
      }
      const match = short.exec(String(p));
      expect([p, !!match]).toEqual([p, true]);
      expect([p, match!.slice(1, 5).every(inRange)]).toEqual([p, true]);
      return Number(match![3]);
    });
    for (const [, s] of services) containerPorts(s);
    const listens = loadConfig(Object.fromEntries(Object.entries(environment(app)).map(([k, v]) => [k, interpolate(v, demanded())]))).port;
    expect(containerPorts(app)).toContain(listens);
    const expose = instructions(dockerfileOf(app)).filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.split('/')[0])));
    expect(expose).toContain(listens);
  });

  it('has health checks: the database\'s in the file, the app\'s in its image, asking the readiness probe', () => {
    expect(compose.services.postgres.healthcheck?.test).toBeDefined();
    const appCheck = app.healthcheck?.test ?? instructions(dockerfileOf(app)).find((i) => i.op === 'HEALTHCHECK')?.args;
    expect(app.healthcheck?.disable).not.toBe(true);
    expect(JSON.stringify(appCheck)).toContain('/health/ready');
    // …which is served at that path, outside /api/v1.
    expect(API_PREFIX_EXCLUDE).toContain('health/ready');
  });

  it('declares every named volume its services mount', () => {
    for (const [name, s] of services) {
      for (const volume of s.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0] : volume.type === 'volume' ? volume.source : undefined;
        if (!source || /^[./~]/.test(source)) continue; // a bind mount
        expect([name, source, Object.keys(compose.volumes ?? {})]).toEqual([name, source, expect.arrayContaining([source])]);
      }
    }
  });
});
