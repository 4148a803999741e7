import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { DAY_MS } from '../common/time';
import { effectiveRetentionSql, expirySql } from '../retention/retention-sql';
import type { IngestResponse } from './dto/message.dto';
import { utcDay } from './message-id';
import { MessageStore, NewMessage } from './message-store';
import { batchRecords, checkRecord, RecordError, RejectedRecord } from './record-validation';
import { RouteChecker } from './route-checks';

/** Days since the epoch of a moment's UTC day (cheaper than formatting it, per record). */
const dayNumber = (at: Date) => Math.floor(at.getTime() / DAY_MS);

const UNKNOWN_CUSTOMER: RecordError = { field: 'customerId', message: 'customerId does not name an existing customer' };
const RETENTION_ENDED: RecordError = { field: 'submittedAt', message: 'retention ended' };

/**
 * POST /messages/batch: checks every record, stores the valid ones encrypted (idempotently per
 * customer and external id), checks their routes and records violations — all in one
 * transaction with one audit entry, so a failed call stores nothing and may simply be retried.
 */
@Injectable()
export class IngestionService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly routes: RouteChecker,
    private readonly store: MessageStore,
  ) {}

  async ingest(actor: Actor, body: unknown): Promise<IngestResponse> {
    const input = batchRecords(body);
    const now = this.clock.now();
    const rejected: RejectedRecord[] = [];
    let valid: { index: number; record: NewMessage }[] = [];
    for (let index = 0; index < input.length; index++) {
      const checked = checkRecord(input[index], now.getTime());
      if (checked.ok) valid.push({ index, record: checked.record });
      else rejected.push({ index, ...(checked.externalId !== undefined ? { externalId: checked.externalId } : {}), errors: checked.errors });
    }
    const reject = (index: number, record: NewMessage, error: RecordError) => rejected.push({ index, externalId: record.externalId, errors: [error] });

    return this.dataSource.transaction(async (em) => {
      const standing = await this.retentionStanding(em, valid.map((v) => v.record), now);
      valid = valid.filter(({ index, record }) => {
        const state = standing.get(`${record.customerId}|${dayNumber(record.submittedAt)}`);
        if (state === 'open') return true;
        reject(index, record, state === 'ended' ? RETENTION_ENDED : UNKNOWN_CUSTOMER);
        return false;
      });
      const outcome = await this.store.store(em, valid.map((v) => v.record), now);
      for (const i of outcome.expired) reject(valid[i].index, valid[i].record, RETENTION_ENDED);
      const stored = outcome.stored.map(({ index, id }) => ({ id, record: valid[index].record }));
      const hops = await this.routes.check(em, stored.map((s) => s.record));
      const violations = await this.recordViolations(em, stored, hops, now);
      // Last, so the audit chain's lock is held only for the commit.
      if (stored.length) {
        await this.audit.record(em, actor, {
          action: 'messages.ingested', subjectType: 'Message',
          changes: { received: input.length, stored: stored.length, duplicates: outcome.duplicates.length, rejected: rejected.length, violations, customers: new Set(stored.map((s) => s.record.customerId)).size },
        });
      }

      const ids: (string | null)[] = new Array<string | null>(input.length).fill(null);
      for (const { index, id } of outcome.stored) ids[valid[index].index] = id;
      for (const { index, id } of outcome.duplicates) ids[valid[index].index] = id;
      rejected.sort((a, b) => a.index - b.index);
      return {
        counts: { received: input.length, stored: stored.length, duplicates: outcome.duplicates.length, rejected: rejected.length, violations },
        ids,
        duplicates: outcome.duplicates.map(({ index }) => valid[index].index).sort((a, b) => a - b),
        rejected,
      };
    });
  }

  /**
   * Per (customer, UTC day) of the records: 'ended' when any of the customer's retention periods
   * (effective now) for that day's data has already run out — the record would be stored only to
   * be purged — 'open' otherwise; absent when the customer does not exist.
   */
  private async retentionStanding(em: EntityManager, records: NewMessage[], now: Date): Promise<Map<string, 'open' | 'ended'>> {
    const pairs = new Map<string, { customerId: string; day: number }>();
    for (const r of records) {
      const day = dayNumber(r.submittedAt);
      const key = `${r.customerId}|${day}`;
      if (!pairs.has(key)) pairs.set(key, { customerId: r.customerId, day });
    }
    if (!pairs.size) return new Map();
    const list = [...pairs.values()];
    const rows = (await em.query(
      `SELECT s.customer_id, s.day_number, bool_or(r.days IS NOT NULL AND ${expirySql('s.day', 'r.days')} <= $1) AS ended
         FROM unnest($2::uuid[], $3::date[], $4::int[]) AS s(customer_id, day, day_number)
         JOIN (${effectiveRetentionSql('$1')}) r ON r.customer_id = s.customer_id
        GROUP BY s.customer_id, s.day, s.day_number`,
      [now, list.map((p) => p.customerId), list.map((p) => utcDay(new Date(p.day * DAY_MS))), list.map((p) => p.day)],
    )) as { customer_id: string; day_number: number; ended: boolean }[];
    return new Map(rows.map((r) => [`${r.customer_id}|${r.day_number}`, r.ended ? 'ended' : 'open']));
  }

  private async recordViolations(em: EntityManager, stored: { id: string; record: NewMessage }[], hops: { position: number; subprocessorId: string; reason: string }[][], now: Date): Promise<number> {
    const cols = { message: [] as string[], customer: [] as string[], subprocessor: [] as string[], position: [] as number[], reason: [] as string[], at: [] as Date[] };
    stored.forEach(({ id, record }, i) => {
      for (const hop of hops[i]) {
        cols.message.push(id);
        cols.customer.push(record.customerId);
        cols.subprocessor.push(hop.subprocessorId);
        cols.position.push(hop.position);
        cols.reason.push(hop.reason);
        cols.at.push(record.submittedAt);
      }
    });
    if (!cols.message.length) return 0;
    await em.query(
      `INSERT INTO route_violations (message_id, customer_id, subprocessor_id, position, reason, submitted_at, detected_at)
       SELECT message_id, customer_id, subprocessor_id, position, reason, submitted_at, $7
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::smallint[], $5::text[], $6::timestamptz[])
           AS t(message_id, customer_id, subprocessor_id, position, reason, submitted_at)`,
      [cols.message, cols.customer, cols.subprocessor, cols.position, cols.reason, cols.at, now],
    );
    return cols.message.length;
  }
}
