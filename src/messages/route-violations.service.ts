import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Actor } from '../access/ability';
import { scopeQuery } from '../access/scoping';
import { UsersService } from '../access/users.service';
import { AuditService } from '../audit/audit.service';
import { decodeCursor, isTimeCursor, Page, toPage } from '../common/pagination';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { MailService } from '../notifications/mail.service';
import { RouteViolationQuery, RouteViolationResponse } from './dto/route-violation.dto';
import { routeViolationDigestMail } from './route-violation-digest.mail';
import { RouteViolation, ViolationReason } from './route-violation.entity';

interface ViolationRow {
  id: string;
  message_id: string;
  external_id: string | null;
  customer_id: string;
  legal_name: string;
  subprocessor_id: string;
  legal_entity: string | null;
  position: number;
  reason: string;
  submitted_at: Date;
  detected_at: Date;
}

@Injectable()
export class RouteViolationsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly mail: MailService,
    private readonly users: UsersService,
  ) {}

  /** Newest first, by detection time. */
  async list(actor: Actor, query: RouteViolationQuery): Promise<Page<RouteViolationResponse>> {
    const before = decodeCursor(query.cursor, isTimeCursor);
    const qb = this.dataSource.getRepository(RouteViolation).createQueryBuilder('v')
      .leftJoin('messages', 'm', 'm.id = v.message_id AND m.submitted_at = v.submitted_at')
      .leftJoin('customers', 'c', 'c.id = v.customer_id')
      .leftJoin('subprocessors', 's', 's.id = v.subprocessor_id')
      .select(['v.id AS id', 'v.message_id AS message_id', 'm.external_id AS external_id', 'v.customer_id AS customer_id', 'c.legal_name AS legal_name',
        'v.subprocessor_id AS subprocessor_id', 's.legal_entity AS legal_entity', 'v.position AS position', 'v.reason AS reason',
        'v.submitted_at AS submitted_at', 'v.detected_at AS detected_at']);
    scopeQuery(qb, actor.ability, 'read', 'RouteViolation');
    if (query.customerId) qb.andWhere('v.customer_id = :customerId', { customerId: query.customerId });
    if (query.subprocessorId) qb.andWhere('v.subprocessor_id = :subprocessorId', { subprocessorId: query.subprocessorId });
    if (query.reason) qb.andWhere('v.reason = :reason', { reason: query.reason });
    if (query.from) qb.andWhere('v.detected_at >= :from', { from: new Date(query.from) });
    if (query.to) qb.andWhere('v.detected_at < :to', { to: new Date(query.to) });
    if (before) qb.andWhere('(v.detected_at, v.id) < (:at, :id)', { at: new Date(before[0]), id: before[1] });
    const rows = await qb.orderBy('v.detected_at', 'DESC').addOrderBy('v.id', 'DESC').limit(query.limit + 1).getRawMany<ViolationRow>();
    return toPage(rows, query.limit, toResponse, (r) => [r.detected_at.toISOString(), r.id]);
  }

  /**
   * The DPO's daily digest: every violation detected by `now` and not yet reported, counted per
   * customer, sub-processor and reason, in one mail to all DPO users; the violations are marked
   * digested in the same transaction as the mail is queued, so each is reported exactly once.
   * Nothing new, or nobody to tell: no mail, and nothing marked.
   */
  async sendDigest(actor: Actor, now: Date): Promise<Record<string, number>> {
    return this.dataSource.transaction(async (em) => {
      const recipients = await this.users.emailsOfRole(em, 'dpo');
      if (!recipients.length) return { violations: 0, digestsSent: 0, withoutRecipients: 1 };
      const rows = (await em.query(
        `WITH marked AS (
           UPDATE route_violations SET digested_at = $1 WHERE digested_at IS NULL AND detected_at <= $1
           RETURNING customer_id, subprocessor_id, reason, detected_at)
         SELECT k.customer_id, c.legal_name, k.subprocessor_id, s.legal_entity, k.reason, k.n, k.first_at, k.last_at
           FROM (SELECT customer_id, subprocessor_id, reason, count(*)::int AS n, min(detected_at) AS first_at, max(detected_at) AS last_at
                   FROM marked GROUP BY customer_id, subprocessor_id, reason) k
           LEFT JOIN customers c ON c.id = k.customer_id
           LEFT JOIN subprocessors s ON s.id = k.subprocessor_id
          ORDER BY c.legal_name, s.legal_entity NULLS LAST, k.subprocessor_id, k.reason`,
        [now],
      )) as { customer_id: string; legal_name: string | null; subprocessor_id: string; legal_entity: string | null; reason: ViolationReason; n: number; first_at: Date; last_at: Date }[];
      if (!rows.length) return { violations: 0, digestsSent: 0, withoutRecipients: 0 };
      const total = rows.reduce((sum, r) => sum + r.n, 0);
      const first = new Date(Math.min(...rows.map((r) => r.first_at.getTime())));
      await this.mail.enqueue(em, routeViolationDigestMail, {
        total,
        firstDetectedAt: first.toISOString(),
        lastDetectedAt: new Date(Math.max(...rows.map((r) => r.last_at.getTime()))).toISOString(),
        rows: rows.map((r) => ({ customer: r.legal_name ?? `customer ${r.customer_id}`, subprocessor: r.legal_entity ?? `unknown sub-processor ${r.subprocessor_id}`, reason: r.reason, count: r.n })),
        link: `${this.config.publicBaseUrl}/api/v1/route-violations?from=${encodeURIComponent(first.toISOString())}`,
      }, { to: recipients });
      await this.audit.record(em, actor, {
        action: 'route_violations.digested', subjectType: 'RouteViolation',
        changes: { violations: total, customers: new Set(rows.map((r) => r.customer_id)).size, subprocessors: new Set(rows.map((r) => r.subprocessor_id)).size, recipientCount: recipients.length },
      });
      return { violations: total, digestsSent: 1, withoutRecipients: 0 };
    });
  }
}

function toResponse(r: ViolationRow): RouteViolationResponse {
  return {
    id: r.id, messageId: r.message_id, externalId: r.external_id,
    customer: { id: r.customer_id, legalName: r.legal_name },
    subprocessor: { id: r.subprocessor_id, legalEntity: r.legal_entity },
    position: r.position, reason: r.reason,
    submittedAt: r.submitted_at.toISOString(), detectedAt: r.detected_at.toISOString(),
  };
}
