import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import type { DataSource, EntitySubscriberInterface, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';
import { DATABASE_URL } from '../database/database.tokens';
import { setBounded } from './bounded-map';
import { Clock } from './clock';

/** The channel the tables' triggers notify on (migration ReadCacheNotify). */
const CHANNEL = 'custodian_cache';
/** Bounds the memory: the oldest answer goes first. */
const MAX_ENTRIES = 2000;
/** A safety net only: an answer is dropped this long after it was read, whatever happened. */
const MAX_AGE_MS = 10_000;
/**
 * An answer asked for when it is older than its refresh age is read again in the background, and
 * meanwhile still given: answers in use are replaced before MAX_AGE_MS, rather than all at once
 * when they reach it, with every caller waiting on the database. Each answer draws its refresh age
 * between these two, so answers read at the same moment (after a change) are not all read again
 * at the same moment either.
 */
const REFRESH_AFTER_MS = [5_000, 7_500] as const;
const RELISTEN_MS = 1000;

/**
 * An answer, and until when (clock milliseconds) it holds if nothing is written: some answers
 * depend on the time. `keep: false` answers this call (and those that joined it) only.
 */
export interface Cacheable<T> {
  value: T;
  validUntil?: number;
  keep?: boolean;
}

/** Reads an answer as of `from` (the moment it will hold from; answers that do not depend on time ignore it). */
export type Load<T> = (from: Date) => Promise<Cacheable<T>>;

interface Entry {
  value: Promise<unknown>;
  /** Clock milliseconds: the answer holds from `from` (when it was read) to `until`. */
  from: number;
  until: number;
  /** performance.now() when it was read: it is read again `refreshAfter` ms later, dropped MAX_AGE_MS later. */
  readAt: number;
  refreshAfter: number;
  /** Set once a read in the background was started for it. */
  refreshing?: boolean;
  /** What reads it (again, when its refresh age has come), for the moment it holds from. */
  load: Load<unknown>;
}

/**
 * Answers of frequent reads, kept in this instance's memory until the data under them changes:
 * who a bearer credential belongs to (users, API keys), and the registry (customers, DPAs,
 * sub-processors and what decides which may carry a customer's data). Callers check access
 * before asking, and key each answer by everything it depends on.
 *
 * Every table such an answer is read from has a trigger (migration ReadCacheNotify) that, on any
 * change from any connection:
 *  - notifies the channel custodian_cache when its transaction commits: every instance listening
 *    drops all its answers, milliseconds later;
 *  - marks its transaction, so that this instance drops them right after its own commit, before
 *    the request that wrote answers: a client always reads its own writes.
 * While this instance is not listening (not yet, or the connection was lost, e.g. PostgreSQL
 * restarted) nothing is kept: every read goes to the database, and listening resumes by itself.
 * Should notifications stop without the connection failing, no answer is older than MAX_AGE_MS.
 */
@Injectable()
export class ReadCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReadCache.name);
  private readonly entries = new Map<string, Entry>();
  private listener?: Client;
  private listening = false;
  private stopped = false;
  private relisten?: NodeJS.Timeout;
  /** Attempts to listen that failed since the last success: only the first is logged. */
  private failures = 0;
  /** Transactions of this instance that changed cached tables, between their COMMIT being sent and its answer. */
  private readonly changing = new WeakSet<QueryRunner>();
  /** Answers that are objects, and where each came from (see `current`). */
  private readonly origins = new WeakMap<object, { key: string; entry: Entry }>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.dataSource.subscribers.push(this.commitWatcher());
    await this.listen();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.relisten);
    this.stopListening();
  }

  /**
   * The answer under `key` at `at` (default now): kept, or read by `load` (once, however many ask
   * at the same time).
   */
  async read<T>(key: string, load: Load<T>, at: Date = this.clock.now()): Promise<T> {
    if (!this.listening) return (await load(at)).value;
    const now = at.getTime();
    const kept = this.entries.get(key);
    if (kept && this.holds(key, kept, now)) {
      const value = (await kept.value) as T;
      // A load still running when this call joined it may turn out to hold only until before `now`.
      if (now < kept.until) return value;
    }
    const entry = this.loading(key, load, now);
    this.keep(key, entry);
    return entry.value as Promise<T>;
  }

  /**
   * Whether `answer`, an object `read` gave, is still the answer `read` would give under its key
   * (nothing changed under it, it is not too old, and its time has not run out); a refresh is
   * started when its refresh age has come, as `read` does. For replaying a reply built from it
   * without asking again (ReplyMemo).
   */
  current(answer: object, at: Date = this.clock.now()): boolean {
    const origin = this.origins.get(answer);
    if (!origin || !this.listening || this.entries.get(origin.key) !== origin.entry) return false;
    return this.holds(origin.key, origin.entry, at.getTime());
  }

  /** Whether `kept` may still be given at `now`; starts its refresh when its refresh age has come. */
  private holds(key: string, kept: Entry, now: number): boolean {
    const age = performance.now() - kept.readAt;
    if (!(kept.from <= now && now < kept.until && age < MAX_AGE_MS)) return false;
    if (!kept.refreshing && age > kept.refreshAfter) this.refresh(key, kept, now);
    return true;
  }

  /** An entry for what `load` answers; one it must not keep, or that fails, leaves the map if it is there. */
  private loading<T>(key: string, load: Load<T>, now: number): Entry & { kept: Promise<boolean> } {
    const [soonest, latest] = REFRESH_AFTER_MS;
    const entry: Entry = {
      value: Promise.resolve(), from: now, until: Infinity, readAt: performance.now(), refreshAfter: soonest + Math.random() * (latest - soonest), load,
    };
    const answer = load(new Date(now)).then(({ value, validUntil, keep = true }) => {
      if (validUntil !== undefined) entry.until = validUntil;
      if (!keep && this.entries.get(key) === entry) this.entries.delete(key);
      if (typeof value === 'object' && value !== null) this.origins.set(value, { key, entry });
      return { value, keep };
    });
    entry.value = answer.then(({ value }) => value, (error: unknown) => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw error;
    });
    return Object.assign(entry, { kept: answer.then(({ keep }) => keep, () => false) });
  }

  private keep(key: string, entry: Entry): void {
    setBounded(this.entries, key, entry, MAX_ENTRIES);
  }

  /**
   * Reads `kept` again in the background; callers keep getting `kept` until the new answer is in.
   * It replaces `kept` only while `kept` is still in the map: a clear meanwhile (a change) removed
   * it, and a read that began before the change may not have seen it. An answer not to be kept
   * (the row is gone) drops `kept` too.
   */
  private refresh(key: string, kept: Entry, now: number): void {
    kept.refreshing = true;
    const entry = this.loading(key, kept.load, now);
    entry.value.catch(() => undefined); // a failed refresh leaves `kept` as it is, until MAX_AGE_MS at most
    void entry.kept.then((keep) => {
      if (this.entries.get(key) !== kept) return;
      if (keep) this.keep(key, entry);
      else this.entries.delete(key);
    });
  }

  /** Whether answers are being kept (this instance is listening for changes). */
  get active(): boolean {
    return this.listening;
  }

  private clear(): void {
    this.entries.clear();
  }

  /** Drops every answer after a commit of this instance that changed a cached table (see the class comment). */
  private commitWatcher(): EntitySubscriberInterface {
    return {
      beforeTransactionCommit: async (event: TransactionCommitEvent) => {
        const [row] = (await event.queryRunner.query(`SELECT current_setting('custodian.changed', true) AS changed`)) as { changed: string | null }[];
        if (row?.changed?.trim()) this.changing.add(event.queryRunner);
      },
      afterTransactionCommit: (event: TransactionCommitEvent) => {
        if (this.changing.delete(event.queryRunner)) this.clear();
      },
      afterTransactionRollback: (event: TransactionRollbackEvent) => {
        this.changing.delete(event.queryRunner);
      },
    };
  }

  private async listen(): Promise<void> {
    // TCP keep-alive probes after 10 s of silence, so a connection that died without a word is noticed.
    const client = new Client({
      connectionString: this.databaseUrl, application_name: 'custodian-read-cache', keepAlive: true, keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 5000,
    });
    this.listener = client;
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.channel === CHANNEL) this.clear();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      if (this.failures++ === 0) this.logger.warn(`not listening for changes, reads go to the database: ${error instanceof Error ? error.message : String(error)}`);
      this.lost(client);
      return;
    }
    if (this.listener !== client) return;
    // Anything kept before this point may have missed a change.
    this.clear();
    this.listening = true;
    if (this.failures) this.logger.log('listening for changes again');
    this.failures = 0;
  }

  private lost(client: Client): void {
    if (this.listener !== client) return;
    if (this.listening) this.logger.warn('lost the connection that listens for changes: reads go to the database until it is back');
    this.stopListening();
    if (!this.stopped) this.relisten = setTimeout(() => void this.listen(), RELISTEN_MS).unref();
  }

  private stopListening(): void {
    this.listening = false;
    this.clear();
    const client = this.listener;
    this.listener = undefined;
    client?.end().catch(() => undefined);
  }
}
