import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { setBounded } from '../common/bounded-map';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { blindIndexBytes, customerIndexKey, newDataKey, normaliseMsisdn, unwrapKey, wrapKey } from './envelope-crypto';
import type { PiiCategory } from './message.entity';

export interface KeySlot {
  customerId: string;
  day: string;
  category: PiiCategory;
}

export interface LiveKey {
  id: string;
  key: Buffer;
}

interface WrappedRow {
  id: string;
  wrapped: Buffer;
  master_key_id: string;
}

const CACHE_LIMIT = 20_000;

export const slotOf = (s: KeySlot) => `${s.customerId}|${s.day}|${s.category}`;

/** A total order of strings by UTF-16 code units (unlike localeCompare, never 0 for two different strings): the order rows are locked in. */
export const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Identifies a master key without revealing it: the first 16 hex characters of its SHA-256. */
export const masterKeyId = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 16);

/**
 * The keys of the message store: master keys (current and, during a rotation, previous ones),
 * data keys (created on first use, handed out only while not destroyed) and the per-customer
 * blind-index keys. Unwrapped data keys are cached in memory by id; every read first checks in
 * the database that the key still exists, so a destroyed key is never used from the cache.
 */
@Injectable()
export class KeyRing {
  private readonly masters = new Map<string, Buffer>();
  readonly currentMasterKeyId: string;
  private readonly unwrapped = new Map<string, Buffer>();
  private readonly indexKeys = new Map<string, Buffer>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.currentMasterKeyId = masterKeyId(config.masterKey);
    for (const key of [config.masterKey, ...config.previousMasterKeys]) this.masters.set(masterKeyId(key), key);
  }

  /** The blind index of a phone number for one customer (32 bytes); throws on a non-E.164 number. */
  blindIndex(customerId: string, msisdn: string): Buffer {
    let key = this.indexKeys.get(customerId);
    if (!key) {
      key = customerIndexKey(this.config.blindIndexKey, customerId);
      this.indexKeys.set(customerId, key);
    }
    const normalised = normaliseMsisdn(msisdn);
    if (!normalised) throw new Error('not an E.164 phone number');
    return blindIndexBytes(key, normalised);
  }

  /**
   * The live day keys of the given slots, created when missing, each row locked FOR SHARE until the
   * caller's transaction ends so a purge cannot destroy a key that values are being written under.
   * A slot whose key is already destroyed is absent from the result: its data has expired.
   */
  async dayKeys(em: EntityManager, slots: KeySlot[]): Promise<Map<string, LiveKey>> {
    const wanted = new Map(slots.map((s) => [slotOf(s), s]));
    const found = await this.lockDayKeys(em, [...wanted.values()]);
    // Created in the order of their slots: concurrent batches that need the same new keys then wait
    // on each other's insert in one order, never in a cycle (a deadlock).
    const missing = [...wanted.entries()].filter(([slot]) => !found.has(slot) && !found.destroyed.has(slot))
      .sort(([a], [b]) => byCodeUnits(a, b)).map(([, s]) => s);
    if (missing.length) {
      const fresh = missing.map((s) => ({ ...s, id: randomUUID(), key: newDataKey() }));
      await em.query(
        `INSERT INTO data_keys (id, customer_id, day, category, kind, wrapped, master_key_id)
         SELECT id, customer_id, day, category, 'day', wrapped, $6 FROM unnest($1::uuid[], $2::uuid[], $3::date[], $4::text[], $5::bytea[])
           AS t(id, customer_id, day, category, wrapped)
         ON CONFLICT (customer_id, day, category) WHERE kind = 'day' DO NOTHING`,
        [fresh.map((f) => f.id), fresh.map((f) => f.customerId), fresh.map((f) => f.day), fresh.map((f) => f.category),
          fresh.map((f) => wrapKey(this.config.masterKey, f.key, f.id)), this.currentMasterKeyId],
      );
      const again = await this.lockDayKeys(em, missing);
      for (const [slot, key] of again) found.set(slot, key);
    }
    return found;
  }

  private async lockDayKeys(em: EntityManager, slots: KeySlot[]): Promise<Map<string, LiveKey> & { destroyed: Set<string> }> {
    const rows = (await em.query(
      `SELECT k.id, k.customer_id, to_char(k.day, 'YYYY-MM-DD') AS day, k.category, k.wrapped, k.master_key_id
         FROM data_keys k JOIN unnest($1::uuid[], $2::date[], $3::text[]) AS s(customer_id, day, category)
           ON k.customer_id = s.customer_id AND k.day = s.day AND k.category = s.category AND k.kind = 'day'
        ORDER BY k.id FOR SHARE OF k`,
      [slots.map((s) => s.customerId), slots.map((s) => s.day), slots.map((s) => s.category)],
    )) as (WrappedRow & { customer_id: string; day: string; category: PiiCategory; wrapped: Buffer | null })[];
    const result = Object.assign(new Map<string, LiveKey>(), { destroyed: new Set<string>() });
    for (const row of rows) {
      const slot = slotOf({ customerId: row.customer_id, day: row.day, category: row.category });
      if (row.wrapped) result.set(slot, { id: row.id, key: this.unwrap(row as WrappedRow) });
      else result.destroyed.add(slot);
    }
    return result;
  }

  /** A new hold key for one customer, day and category (legally held values are re-encrypted under it). */
  async createHoldKey(em: EntityManager, customerId: string, day: string, category: PiiCategory): Promise<LiveKey> {
    const id = randomUUID();
    const key = newDataKey();
    await em.query(
      `INSERT INTO data_keys (id, customer_id, day, category, kind, wrapped, master_key_id) VALUES ($1, $2, $3, $4, 'hold', $5, $6)`,
      [id, customerId, day, category, wrapKey(this.config.masterKey, key, id), this.currentMasterKeyId],
    );
    this.remember(id, key);
    return { id, key };
  }

  /** The keys among `ids` that still exist, unwrapped; destroyed or unknown ids are absent. */
  async readableKeys(em: EntityManager, ids: string[]): Promise<Map<string, Buffer>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    const rows = (await em.query(
      'SELECT id, wrapped, master_key_id FROM data_keys WHERE id = ANY($1::uuid[]) AND wrapped IS NOT NULL',
      [unique],
    )) as WrappedRow[];
    return new Map(rows.map((row) => [row.id, this.unwrap(row)]));
  }

  /** Drops destroyed keys from this instance's cache at once (other instances never use theirs unchecked). */
  forget(ids: Iterable<string>): void {
    for (const id of ids) this.unwrapped.delete(id);
  }

  /** Re-wraps a wrapped key under the current master key (master-key rotation). */
  rewrap(row: WrappedRow): { wrapped: Buffer; masterKeyId: string } {
    return { wrapped: wrapKey(this.config.masterKey, this.unwrap(row), row.id), masterKeyId: this.currentMasterKeyId };
  }

  hasMasterKey(id: string): boolean {
    return this.masters.has(id);
  }

  private unwrap(row: WrappedRow): Buffer {
    const cached = this.unwrapped.get(row.id);
    if (cached) return cached;
    const master = this.masters.get(row.master_key_id);
    if (!master) throw new Error(`data key ${row.id} is wrapped by master key ${row.master_key_id}, which is not configured (MASTER_KEY / MASTER_KEY_PREVIOUS)`);
    const key = unwrapKey(master, row.wrapped, row.id);
    this.remember(row.id, key);
    return key;
  }

  private remember(id: string, key: Buffer): void {
    setBounded(this.unwrapped, id, key, CACHE_LIMIT);
  }
}
