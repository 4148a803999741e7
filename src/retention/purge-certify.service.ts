import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { CertificatesService, DestroyedItem } from './certificates.service';
import { retrying, underKeySql } from './purge-sql';
import { expiredKeysSql, heldSql } from './retention-sql';

interface KeyLine {
  id: string;
  day: string;
  category: 'msisdn' | 'body';
  message_count: number;
  destroyed_at: Date;
}

interface DeletionLine {
  id: string;
  from_day: string;
  to_day: string;
  message_count: number;
  deleted_at: Date;
}

const DAY_MS = 86_400_000;
const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);

/**
 * Issues the deletion certificates of purge runs: one per run and customer, for everything the
 * run destroyed for that customer — including what a run that died left uncertified, which is
 * certified under that run's id. Issuing and marking what it covers share a transaction, so
 * nothing is ever certified twice or left out.
 */
@Injectable()
export class PurgeCertifyService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly certificates: CertificatesService,
  ) {}

  /** Returns how many certificates were issued. */
  async certifyPending(actor: Actor, now: Date): Promise<number> {
    // A (run, customer) with a destroyed key not yet counted waits: its certificate must be complete.
    const pending = (await this.dataSource.query(
      `SELECT run_id, customer_id FROM (
         SELECT destroyed_by_run_id AS run_id, customer_id FROM data_keys
          WHERE destroyed_by_run_id IS NOT NULL AND certificate_id IS NULL AND message_count IS NOT NULL
         UNION
         SELECT run_id, customer_id FROM purge_deletions WHERE certificate_id IS NULL) p
        WHERE NOT EXISTS (SELECT 1 FROM data_keys k WHERE k.destroyed_by_run_id = p.run_id AND k.customer_id = p.customer_id AND k.message_count IS NULL)
        ORDER BY run_id, customer_id`,
    )) as { run_id: string; customer_id: string }[];
    let issued = 0;
    for (const { run_id: runId, customer_id: customerId } of pending) {
      if (await retrying(this.dataSource, (em) => this.certify(em, actor, runId, customerId, now))) issued += 1;
    }
    return issued;
  }

  private async certify(em: EntityManager, actor: Actor, runId: string, customerId: string, now: Date): Promise<boolean> {
    const keys = (await em.query(
      `SELECT id, to_char(day, 'YYYY-MM-DD') AS day, category, message_count, destroyed_at FROM data_keys
        WHERE destroyed_by_run_id = $1 AND customer_id = $2 AND certificate_id IS NULL AND message_count IS NOT NULL
        ORDER BY category, day, id FOR UPDATE`,
      [runId, customerId],
    )) as KeyLine[];
    const deletions = (await em.query(
      `SELECT id, to_char(from_day, 'YYYY-MM-DD') AS from_day, to_char(to_day, 'YYYY-MM-DD') AS to_day, message_count, deleted_at
         FROM purge_deletions WHERE run_id = $1 AND customer_id = $2 AND certificate_id IS NULL
        ORDER BY from_day, to_day, id FOR UPDATE`,
      [runId, customerId],
    )) as DeletionLine[];
    if (!keys.length && !deletions.length) return false; // certified meanwhile
    const [{ held }] = (await em.query(
      `SELECT count(DISTINCT m.id)::int AS held FROM (${expiredKeysSql('$2')}) e
         JOIN data_keys k ON k.id = e.id JOIN messages m ON ${underKeySql()}
        WHERE e.customer_id = $1 AND ${heldSql('m')}`,
      [customerId, now],
    )) as { held: number }[];
    const times = [...keys.map((k) => k.destroyed_at), ...deletions.map((d) => d.deleted_at)].map((t) => t.getTime());
    const certificate = await this.certificates.issue(em, actor, {
      customerId,
      source: { kind: 'purge_run', runId },
      method: 'crypto_shredding',
      destroyedAt: new Date(Math.max(...times)),
      destroyed: [...keyItems(keys, 'msisdn'), ...keyItems(keys, 'body'), ...deletionItems(deletions)],
      retainedUnderHold: held,
    });
    await em.query('UPDATE data_keys SET certificate_id = $1 WHERE id = ANY($2::uuid[])', [certificate.id, keys.map((k) => k.id)]);
    await em.query('UPDATE purge_deletions SET certificate_id = $1 WHERE id = ANY($2::uuid[])', [certificate.id, deletions.map((d) => d.id)]);
    return true;
  }
}

/** One item per run of consecutive days whose keys of `category` were destroyed (held days break a run). */
function keyItems(keys: KeyLine[], category: 'msisdn' | 'body'): DestroyedItem[] {
  const items: DestroyedItem[] = [];
  for (const key of keys.filter((k) => k.category === category)) {
    const last = items[items.length - 1];
    if (last && (key.day === last.to || key.day === nextDay(last.to))) {
      last.to = key.day;
      last.messageCount += key.message_count;
      last.keyIds.push(key.id);
    } else {
      items.push({ category, from: key.day, to: key.day, messageCount: key.message_count, keyIds: [key.id] });
    }
  }
  for (const item of items) item.keyIds.sort();
  return items;
}

/** The deleted batches as runs of consecutive days (batches overlap where a day spans two). */
function deletionItems(deletions: DeletionLine[]): DestroyedItem[] {
  const items: DestroyedItem[] = [];
  for (const d of deletions) {
    const last = items[items.length - 1];
    if (last && d.from_day <= nextDay(last.to)) {
      if (d.to_day > last.to) last.to = d.to_day;
      last.messageCount += d.message_count;
    } else {
      items.push({ category: 'delivery_metadata', from: d.from_day, to: d.to_day, messageCount: d.message_count, keyIds: [] });
    }
  }
  return items;
}
