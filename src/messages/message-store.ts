import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { DecryptionError, open, seal } from './envelope-crypto';
import { KeyRing, KeySlot, slotOf } from './key-ring';
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
    const slots: KeySlot[] = [];
    const days = records.map((r) => utcDay(r.submittedAt));
    records.forEach((r, i) => {
      for (const category of ['msisdn', 'body'] as const) slots.push({ customerId: r.customerId, day: days[i], category });
    });
    const live = await this.keys.dayKeys(em, slots);

    const rows: { index: number; id: string; r: NewMessage; hash: Buffer; msisdnKey: string; msisdnCt: Buffer; bodyKey: string; bodyCt: Buffer }[] = [];
    records.forEach((r, index) => {
      const msisdnKey = live.get(slotOf({ customerId: r.customerId, day: days[index], category: 'msisdn' }));
      const bodyKey = live.get(slotOf({ customerId: r.customerId, day: days[index], category: 'body' }));
      if (!msisdnKey || !bodyKey) {
        outcome.expired.push(index);
        return;
      }
      const id = messageId(r.submittedAt);
      rows.push({
        index, id, r,
        hash: this.keys.blindIndex(r.customerId, r.msisdn),
        msisdnKey: msisdnKey.id,
        msisdnCt: seal(msisdnKey.key, Buffer.from(r.msisdn, 'utf8'), sealContext(id, 'msisdn')),
        bodyKey: bodyKey.id,
        bodyCt: seal(bodyKey.key, Buffer.from(r.body, 'utf8'), sealContext(id, 'body')),
      });
    });
    if (!rows.length) return outcome;

    const inserted = new Set(((await em.query(
      `INSERT INTO messages (id, customer_id, external_id, direction, sender, destination_country, status, route, submitted_at, received_at,
                             msisdn_hash, msisdn_key_id, msisdn_ciphertext, body_key_id, body_ciphertext)
       SELECT id, customer_id, external_id, direction, sender, destination_country, status, route::uuid[], submitted_at, $10,
              msisdn_hash, msisdn_key_id, msisdn_ciphertext, body_key_id, body_ciphertext
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[],
                     $11::bytea[], $12::uuid[], $13::bytea[], $14::uuid[], $15::bytea[])
           AS t(id, customer_id, external_id, direction, sender, destination_country, status, route, submitted_at,
                msisdn_hash, msisdn_key_id, msisdn_ciphertext, body_key_id, body_ciphertext)
       ON CONFLICT (customer_id, external_id) DO NOTHING
       RETURNING id`,
      [rows.map((x) => x.id), rows.map((x) => x.r.customerId), rows.map((x) => x.r.externalId), rows.map((x) => x.r.direction),
        rows.map((x) => x.r.sender), rows.map((x) => x.r.destinationCountry), rows.map((x) => x.r.status),
        rows.map((x) => `{${x.r.route.join(',')}}`), rows.map((x) => x.r.submittedAt), receivedAt,
        rows.map((x) => x.hash), rows.map((x) => x.msisdnKey), rows.map((x) => x.msisdnCt), rows.map((x) => x.bodyKey), rows.map((x) => x.bodyCt)],
    )) as { id: string }[]).map((row) => row.id));

    const hops = { message: [] as string[], position: [] as number[], subprocessor: [] as string[], customer: [] as string[], at: [] as Date[], subject: [] as string[], country: [] as string[] };
    const duplicates: typeof rows = [];
    for (const x of rows) {
      if (!inserted.has(x.id)) {
        duplicates.push(x);
        continue;
      }
      outcome.stored.push({ index: x.index, id: x.id });
      x.r.route.forEach((subprocessorId, position) => {
        hops.message.push(x.id);
        hops.position.push(position);
        hops.subprocessor.push(subprocessorId);
        hops.customer.push(x.r.customerId);
        hops.at.push(x.r.submittedAt);
        hops.subject.push(subjectTag(x.hash));
        hops.country.push(x.r.destinationCountry);
      });
    }
    if (hops.message.length) {
      await em.query(
        `INSERT INTO message_hops (message_id, position, subprocessor_id, customer_id, submitted_at, subject, destination_country)
         SELECT * FROM unnest($1::uuid[], $2::smallint[], $3::uuid[], $4::uuid[], $5::timestamptz[], $6::bigint[], $7::text[])`,
        [hops.message, hops.position, hops.subprocessor, hops.customer, hops.at, hops.subject, hops.country],
      );
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
