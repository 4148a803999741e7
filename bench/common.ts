import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/*
 * What the benches share: clean-up on Ctrl-C, log lines, formatting, and reading a process's CPU
 * time from /proc.
 */

/** Undone on Ctrl-C as well: PostgreSQL and the service run in their own sessions and would outlive the bench. */
export const cleanups: (() => Promise<void>)[] = [];
process.once('SIGINT', () => {
  void (async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    process.exit(130);
  })();
});

/** Each line says the machine's load average too: on a shared 2-core machine, latencies follow it. */
export const log = (message: string) => console.log(`[${new Date().toISOString().slice(11, 23)} load ${loadavg()[0].toFixed(1)}] ${message}`);
export const sleep = (n: number) => new Promise((r) => setTimeout(r, n));
export const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
export const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));

/** The same server, another database. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * CPU seconds (user + system) a process has used so far; with `children`, also its live children
 * and the ones that have exited (PostgreSQL's backends and autovacuum workers come and go).
 */
export function cpuSeconds(pid: number, children = false): number {
  const ticks = (p: number, exited = false) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]) + (exited ? Number(f[13]) + Number(f[14]) : 0);
    } catch {
      return 0;
    }
  };
  let total = ticks(pid, children);
  if (children) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) total += ticks(Number(entry));
      } catch {
        /* gone */
      }
    }
  }
  return total / 100;
}
