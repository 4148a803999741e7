import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { DecryptionError, open, seal } from './envelope-crypto';
import { byCodeUnits, KeyRing, KeySlot, slotOf } from './key-ring';
import { messageId, utcDay } from './message-id';
import type { Direction, Message, MessageStatus, PiiCategory } from './message.entity';

/** A validated record, ready to store: the phone number already normalised to E.164. */
export interface NewMessage {
  customerId: string;
  externalId: string;
  direction: Direction;
  msisdn: string;
  sender: string;
  body: string;
  route: string[];
  destinationCountry: string;
  status: MessageStatus;
  submittedAt: Date;
}

export interface StoreOutcome {
  /** Index in the input and id of every record stored now. */
  stored: { index: number; id: string }[];
  /** Records already stored (same customer and external id), with the id they were stored under. */
  duplicates: { index: number; id: string }[];
  /** Records whose day keys are already destroyed: their PII expired before they arrived. */
  expired: number[];
}

export interface DecryptedPii {
  /** Null once destroyed (key shredded or ciphertext erased). */
  msisdn: string | null;
  body: string | null;
}

type SealedColumns = Pick<Message, 'id' | 'msisdnKeyId' | 'msisdnCiphertext' | 'bodyKeyId' | 'bodyCiphertext'>;

/** The associated data that binds a sealed value to its message and column. */
export const sealContext = (id: string, category: PiiCategory) => `message:${id}:${category}`;

/**
 * Writes and reads message PII under envelope encryption. Writing happens in the caller's
 * transaction: the data keys used stay locked against destruction until it commits.
 */
@Injectable()
export class MessageStore {
  constructor(private readonly keys: KeyRing) {}

  async store(em: EntityManager, records: NewMessage[], receivedAt: Date): Promise<StoreOutcome> {
    const outcome: StoreOutcome = { stored: [], duplicates: [], expired: [] };
    if (!records.length) return outcome;
    const days = records.map((r) => utcDay(r.submittedAt));
    const slots = new Map<string, KeySlot>();
    records.forEach((r, i) => {
      for (const category of ['msisdn', 'body'] as const) {
        const slot = { customerId: r.customerId, day: days[i], category };
        slots.set(slotOf(slot), slot);
      }
    });
    const live = await this.keys.dayKeys(em, [...slots.values()]);

    // Column arrays for unnest; the sealed values and hashes travel as one binary blob per column
    // (sliced by offset in SQL) instead of thousands of hex-escaped array elements.
    const rows: { index: number; id: string; r: NewMessage }[] = [];
    const cols = { id: [] as string[], customer: [] as string[], external: [] as string[], direction: [] as string[], sender: [] as string[], country: [] as string[],
      status: [] as string[], route: [] as string[], at: [] as string[], msisdnKey: [] as string[], msisdnAt: [] as number[], msisdnLen: [] as number[],
      bodyKey: [] as string[], bodyAt: [] as number[], bodyLen: [] as number[] };
    const hashes: Buffer[] = [];
    const msisdns: Buffer[] = [];
    const bodies: Buffer[] = [];
    let msisdnAt = 0;
    let bodyAt = 0;
    // Inserted in the order of their idempotency key (customer, external id), whatever the batch's
    // order: concurrent batches that share records (a client's retries) then wait on each other's
    // inserts in one order, never in a cycle (a deadlock). The sort is stable: of two records with
    // the same key in one batch, the first is still the one stored.
    const order = records.map((_, index) => index).sort((a, b) =>
      byCodeUnits(records[a].customerId, records[b].customerId) || byCodeUnits(records[a].externalId, records[b].externalId));
    for (const index of order) {
      const r = records[index];
      const msisdnKey = live.get(`${r.customerId}|${days[index]}|msisdn`);
      const bodyKey = live.get(`${r.customerId}|${days[index]}|body`);
      if (!msisdnKey || !bodyKey) {
        outcome.expired.push(index);
        continue;
      }
      const id = messageId(r.submittedAt);
      rows.push({ index, id, r });
      const msisdnCt = seal(msisdnKey.key, Buffer.from(r.msisdn, 'utf8'), sealContext(id, 'msisdn'));
      const bodyCt = seal(bodyKey.key, Buffer.from(r.body, 'utf8'), sealContext(id, 'body'));
      hashes.push(this.keys.blindIndex(r.customerId, r.msisdn));
      msisdns.push(msisdnCt);
      bodies.push(bodyCt);
      cols.id.push(id);
      cols.customer.push(r.customerId);
      cols.external.push(r.externalId);
      cols.direction.push(r.direction);
      cols.sender.push(r.sender);
      cols.country.push(r.destinationCountry);
      cols.status.push(r.status);
      cols.route.push(`{${r.route.join(',')}}`);
      cols.at.push(r.submittedAt.toISOString());
      cols.msisdnKey.push(msisdnKey.id);
      cols.msisdnAt.push(msisdnAt + 1);
      cols.msisdnLen.push(msisdnCt.length);
      cols.bodyKey.push(bodyKey.id);
      cols.bodyAt.push(bodyAt + 1);
      cols.bodyLen.push(bodyCt.length);
      msisdnAt += msisdnCt.length;
      bodyAt += bodyCt.length;
    }
    outcome.expired.sort((a, b) => a - b);
    if (!rows.length) return outcome;

    // One statement: the messages, and the route hops of those actually inserted (not the duplicates).
    const inserted = new Set(((await em.query(
      `WITH ins AS (
         INSERT INTO messages (id, customer_id, external_id, direction, sender, destination_country, status, route, submitted_at, received_at,
                               msisdn_hash, msisdn_key_id, msisdn_ciphertext, body_key_id, body_ciphertext)
         SELECT id, customer_id, external_id, direction, sender, destination_country, status, route::uuid[], submitted_at, $10,
                substring($11::bytea FROM (n::int - 1) * 32 + 1 FOR 32), msisdn_key_id, substring($12::bytea FROM msisdn_at FOR msisdn_len),
                body_key_id, substring($13::bytea FROM body_at FOR body_len)
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[],
                       $14::uuid[], $15::int[], $16::int[], $17::uuid[], $18::int[], $19::int[]) WITH ORDINALITY
             AS t(id, customer_id, external_id, direction, sender, destination_country, status, route, submitted_at,
                  msisdn_key_id, msisdn_at, msisdn_len, body_key_id, body_at, body_len, n)
         ON CONFLICT (customer_id, external_id) DO NOTHING
         RETURNING id, customer_id, route, submitted_at, msisdn_hash, destination_country),
       hops AS (
         INSERT INTO message_hops (message_id, position, subprocessor_id, customer_id, submitted_at, subject, destination_country)
         SELECT ins.id, h.n - 1, h.subprocessor_id, ins.customer_id, ins.submitted_at, ('x' || encode(substring(ins.msisdn_hash FROM 1 FOR 8), 'hex'))::bit(64)::bigint, ins.destination_country
           FROM ins CROSS JOIN LATERAL unnest(ins.route) WITH ORDINALITY AS h(subprocessor_id, n))
       SELECT id FROM ins`,
      [cols.id, cols.customer, cols.external, cols.direction, cols.sender, cols.country, cols.status, cols.route, cols.at, receivedAt,
        Buffer.concat(hashes), Buffer.concat(msisdns), Buffer.concat(bodies),
        cols.msisdnKey, cols.msisdnAt, cols.msisdnLen, cols.bodyKey, cols.bodyAt, cols.bodyLen],
    )) as { id: string }[]).map((row) => row.id));

    const duplicates: typeof rows = [];
    for (const x of rows) {
      if (inserted.has(x.id)) outcome.stored.push({ index: x.index, id: x.id });
      else duplicates.push(x);
    }
    if (duplicates.length) {
      const existing = (await em.query(
        `SELECT m.id, m.customer_id, m.external_id FROM messages m
           JOIN unnest($1::uuid[], $2::text[]) AS d(customer_id, external_id) ON m.customer_id = d.customer_id AND m.external_id = d.external_id`,
        [duplicates.map((x) => x.r.customerId), duplicates.map((x) => x.r.externalId)],
      )) as { id: string; customer_id: string; external_id: string }[];
      const byKey = new Map(existing.map((e) => [`${e.customer_id}|${e.external_id}`, e.id]));
      for (const x of duplicates) outcome.duplicates.push({ index: x.index, id: byKey.get(`${x.r.customerId}|${x.r.externalId}`)! });
    }
    outcome.stored.sort((a, b) => a.index - b.index);
    outcome.duplicates.sort((a, b) => a.index - b.index);
    return outcome;
  }

  /**
   * Decrypts the phone number and body of the given messages. A value whose key is destroyed or
   * whose ciphertext is cleared reads as null; one that fails authentication throws.
   */
  async readPii(em: EntityManager, messages: SealedColumns[]): Promise<Map<string, DecryptedPii>> {
    const keys = await this.keys.readableKeys(em, messages.flatMap((m) => [m.msisdnKeyId, m.bodyKeyId]).filter((k): k is string => !!k));
    const read = (m: SealedColumns, category: PiiCategory): string | null => {
      const keyId = category === 'msisdn' ? m.msisdnKeyId : m.bodyKeyId;
      const sealed = category === 'msisdn' ? m.msisdnCiphertext : m.bodyCiphertext;
      const key = keyId ? keys.get(keyId) : undefined;
      if (!key || !sealed) return null;
      return open(key, sealed, sealContext(m.id, category)).toString('utf8');
    };
    return new Map(messages.map((m) => [m.id, { msisdn: read(m, 'msisdn'), body: read(m, 'body') }]));
  }
}

/** The first 8 bytes of a blind index as a signed 64-bit integer: enough to count distinct people. */
export const subjectTag = (hash: Buffer): string => hash.readBigInt64BE(0).toString();

export { DecryptionError };
