import { subject } from '@casl/ability';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, IsNull } from 'typeorm';
import type { Actor } from '../access/ability';
import { scopeQuery } from '../access/scoping';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { ConflictError, ForbiddenError, NotFoundError } from '../common/errors';
import { isUuid } from '../common/ids';
import { decodeCursor, Page, toPage, isTimeCursor } from '../common/pagination';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { ActiveAgreement } from '../dpas/dpas.service';
import { MailService } from '../notifications/mail.service';
import { describeChange } from '../public/public-change';
import { SubscribersService } from '../public/subscribers.service';
import type { Subprocessor } from '../subprocessors/subprocessor.entity';
import { ChangeNotice, ChangeNoticeKind, ChangeNoticeRecipient, Objection } from './change-notice.entity';
import { approvalEnrolmentMail, changeNoticeMail, changeNoticeWithdrawnMail } from './change-notice.mail';
import { ChangeNoticeQuery, ChangeNoticeResponse, ReasonDto } from './dto/change-notice.dto';
import { DAY_MS } from '../common/time';


export interface Announcement {
  /** The sub-processor as it will be once the change applies (locked by the caller). */
  subprocessor: Subprocessor;
  kind: ChangeNoticeKind;
  changes: Record<string, { from: unknown; to: unknown }>;
  reason: string;
  /** The customers whose data it will touch, with the DPA in force now. */
  affected: ActiveAgreement[];
}

/** What one customer has said about sub-processors, as of a moment (for authorisation). */
export interface ConsentAt {
  /** Sub-processors this customer's objections exclude. */
  objected: Set<string>;
  /** Sub-processors this customer approved a notice of. */
  approved: Set<string>;
  /** Sub-processors with a change in effect that this customer had to approve and had not. */
  unapproved: Set<string>;
}

/**
 * Art. 28(2) change notices: who is told, by when they may object, and what they said. The
 * sub-processor module decides what a change is and applies it; this module announces it.
 */
@Injectable()
export class ChangeNoticesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly mail: MailService,
    private readonly subscribers: SubscribersService,
  ) {}

  /**
   * Creates a notice, one recipient row per affected customer with its own deadline, mails each
   * customer's contacts and the public subscribers — all in the caller's transaction.
   * It takes effect after the longest objection window among the affected DPAs; with nobody
   * affected there is nobody to wait for, so it takes effect at the next run of the job.
   */
  async announce(em: EntityManager, actor: Actor, a: Announcement): Promise<ChangeNotice> {
    const sub = a.subprocessor;
    if (await em.existsBy(ChangeNotice, { subprocessorId: sub.id, status: 'pending' })) {
      throw new ConflictError('A change notice for this sub-processor is already pending; wait for it to take effect or withdraw it');
    }
    const proposedAt = this.clock.now();
    const windowDays = Math.max(0, ...a.affected.map(({ dpa }) => dpa.objectionWindowDays));
    const notice = await em.save(em.create(ChangeNotice, {
      subprocessorId: sub.id, kind: a.kind, changes: a.changes, reason: a.reason, status: 'pending',
      proposedAt, effectiveAt: new Date(proposedAt.getTime() + windowDays * DAY_MS), appliedAt: null, createdBy: actor.id,
    }));
    const recipients = a.affected.map(({ customer, dpa }) => em.create(ChangeNoticeRecipient, {
      noticeId: notice.id, customerId: customer.id, dpaId: dpa.id, approvalRequired: dpa.authorisation === 'specific',
      objectionDeadline: new Date(proposedAt.getTime() + dpa.objectionWindowDays * DAY_MS), approvedAt: null, approvedBy: null,
    }));
    if (recipients.length) await em.save(recipients);
    await this.audit.record(em, actor, {
      action: 'change_notice.created', subjectType: 'ChangeNotice', subjectId: notice.id,
      changes: { subprocessorId: sub.id, kind: a.kind, changes: a.changes, effectiveAt: notice.effectiveAt, recipients: recipients.map((r) => r.customerId) },
    });
    for (const [i, { customer }] of a.affected.entries()) {
      await this.mail.enqueue(em, changeNoticeMail, {
        noticeId: notice.id, kind: a.kind, legalEntity: sub.legalEntity, parentCompany: sub.parentCompany, country: sub.country,
        role: sub.role, services: sub.services, purpose: sub.purpose, dataCategories: sub.dataCategories, transferMechanism: sub.transferMechanism,
        changes: a.kind === 'material_change' ? Object.entries(a.changes).map(([field, c]) => ({ field, ...c })) : [],
        reason: a.reason, effectiveAt: notice.effectiveAt, objectionDeadline: recipients[i].objectionDeadline,
        approvalRequired: recipients[i].approvalRequired, link: this.link(notice.id),
      }, { to: [customer.dpoContact.email, ...customer.breachNotificationEmails], customerId: customer.id, about: { type: 'ChangeNotice', id: notice.id } });
    }
    await this.subscribers.notifyChange(em, {
      noticeId: notice.id, subprocessorName: sub.legalEntity, kind: a.kind, summary: describeChange({ ...notice, status: 'pending' }, sub).summary, effectiveAt: notice.effectiveAt,
    });
    return notice;
  }

  /**
   * Specific authorisation for a customer whose DPA came into force after these sub-processors went
   * active: it was never told of them, so had nothing to approve. It becomes a recipient of each one's
   * latest effective `new_subprocessor` notice it is not a recipient of yet (approval required, no
   * objection window left: the change is already in effect), and its contacts get one mail listing
   * them — all in the caller's transaction, which holds the customer's row lock.
   * Returns the notices the customer was enrolled on.
   */
  async enrolForApproval(em: EntityManager, actor: Actor, agreement: ActiveAgreement, subprocessors: Subprocessor[], now: Date): Promise<string[]> {
    const { customer, dpa } = agreement;
    if (dpa.authorisation !== 'specific' || !subprocessors.length) return [];
    const byId = new Map(subprocessors.map((s) => [s.id, s]));
    // The latest effective announcement of each; if the customer already has a row on it, nothing to add.
    const todo = ((await em.query(
      `SELECT id, "subprocessorId" FROM (
         SELECT DISTINCT ON (subprocessor_id) id, subprocessor_id AS "subprocessorId" FROM change_notices
          WHERE subprocessor_id = ANY($1::uuid[]) AND kind = 'new_subprocessor' AND status = 'effective'
          ORDER BY subprocessor_id, applied_at DESC, id DESC) latest
        WHERE NOT EXISTS (SELECT 1 FROM change_notice_recipients r WHERE r.notice_id = latest.id AND r.customer_id = $2)`,
      [[...byId.keys()], customer.id],
    )) as { id: string; subprocessorId: string }[])
      .sort((a, b) => byId.get(a.subprocessorId)!.legalEntity.localeCompare(byId.get(b.subprocessorId)!.legalEntity) || a.id.localeCompare(b.id));
    if (!todo.length) return [];
    await em.save(todo.map((n) => em.create(ChangeNoticeRecipient, {
      noticeId: n.id, customerId: customer.id, dpaId: dpa.id, approvalRequired: true, objectionDeadline: now, approvedAt: null, approvedBy: null,
    })));
    for (const n of todo) {
      await this.audit.record(em, actor, {
        action: 'change_notice.recipient_enrolled', subjectType: 'ChangeNotice', subjectId: n.id,
        changes: { customerId: customer.id, dpaId: dpa.id, subprocessorId: n.subprocessorId, approvalRequired: true, reason: 'specific authorisation; the customer was not a recipient of this notice' },
      });
    }
    await this.mail.enqueue(em, approvalEnrolmentMail, {
      items: todo.map((n) => {
        const s = byId.get(n.subprocessorId)!;
        return { noticeId: n.id, legalEntity: s.legalEntity, country: s.country, role: s.role, services: s.services, transferMechanism: s.transferMechanism, link: this.link(n.id) };
      }),
    }, { to: [customer.dpoContact.email, ...customer.breachNotificationEmails], customerId: customer.id, about: { type: 'Dpa', id: dpa.id } });
    return todo.map((n) => n.id);
  }

  async list(actor: Actor, query: ChangeNoticeQuery): Promise<Page<ChangeNoticeResponse>> {
    const before = decodeCursor(query.cursor, isTimeCursor);
    const qb = this.dataSource.getRepository(ChangeNotice).createQueryBuilder('n').innerJoinAndSelect('n.subprocessor', 's');
    if (!seesEveryNotice(actor)) {
      // A notice belongs to each customer it was sent to: scope through the recipient rows, by the
      // same ability rule a single read is checked with.
      const recipients = qb.subQuery().select('1').from(ChangeNoticeRecipient, 'r').where('r.noticeId = n.id');
      scopeQuery(recipients, actor.ability, 'read', 'ChangeNotice');
      qb.andWhere(`EXISTS ${recipients.getQuery()}`).setParameters(recipients.getParameters());
    }
    if (query.status) qb.andWhere('n.status = :status', { status: query.status });
    if (query.subprocessorId) qb.andWhere('n.subprocessorId = :subprocessorId', { subprocessorId: query.subprocessorId });
    if (before) qb.andWhere('(n.proposedAt, n.id) < (:at, :id)', { at: before[0], id: before[1] });
    const rows = await qb.orderBy('n.proposedAt', 'DESC').addOrderBy('n.id', 'DESC').limit(query.limit + 1).getMany();
    const recipients = await this.recipientsOf(this.dataSource.manager, rows.slice(0, query.limit).map((n) => n.id));
    return toPage(rows, query.limit, (n) => toResponse(actor, n, recipients.get(n.id) ?? []), (n) => [n.proposedAt.toISOString(), n.id]);
  }

  async get(actor: Actor, id: string): Promise<ChangeNoticeResponse> {
    const { notice, recipients } = await this.load(this.dataSource.manager, actor, id);
    return toResponse(actor, notice, recipients);
  }

  /** Specific authorisation: the customer approves before the sub-processor may carry its data. */
  async approve(actor: Actor, id: string): Promise<ChangeNoticeResponse> {
    // As for objections: staff who may read the notice must not be told it does not exist.
    if (!actor.customerId) throw new ForbiddenError('Approvals are given by the affected customer\'s own users');
    return this.dataSource.transaction(async (em) => {
      const { notice, recipient } = await this.loadAsRecipient(em, actor, id, 'approve');
      if (notice.status === 'withdrawn') throw new ConflictError('This change notice was withdrawn');
      if (!recipient.approvalRequired) throw new ConflictError('Your agreement gives general authorisation: the change applies unless you object; there is nothing to approve');
      if (recipient.approvedAt) throw new ConflictError(`Already approved at ${recipient.approvedAt.toISOString()}`);
      if (await this.hasOpenObjection(em, notice.id, recipient.customerId)) {
        throw new ConflictError('Your objection to this notice is open; the DPO resolves it first');
      }
      recipient.approvedAt = this.clock.now();
      recipient.approvedBy = actor.id;
      await em.save(recipient);
      await this.audit.record(em, actor, { action: 'change_notice.approved', subjectType: 'ChangeNotice', subjectId: notice.id, changes: { customerId: recipient.customerId, subprocessorId: notice.subprocessorId } });
      return toResponse(actor, notice, [recipient]);
    });
  }

  /** The DPO calls a pending change off; customers who were told are told again. */
  async withdraw(actor: Actor, id: string, dto: ReasonDto): Promise<ChangeNoticeResponse> {
    return this.dataSource.transaction(async (em) => {
      const { notice, recipients } = await this.load(em, actor, id, 'update', true);
      if (notice.status !== 'pending') throw new ConflictError(`Only a pending change notice can be withdrawn; this one is ${notice.status}`);
      const now = this.clock.now();
      notice.status = 'withdrawn';
      await em.save(notice);
      // Objections to a change that will not happen are moot.
      const open = await em.find(Objection, { where: { noticeId: notice.id, resolvedAt: IsNull() }, lock: { mode: 'pessimistic_write' } });
      for (const o of open) {
        Object.assign(o, { resolution: 'withdrawn', resolutionNote: 'The change notice was withdrawn', resolvedBy: actor.id, resolvedAt: now });
        await em.save(o);
        await this.audit.record(em, actor, { action: 'objection.resolved', subjectType: 'Objection', subjectId: o.id, changes: { resolution: 'withdrawn', noticeWithdrawn: true } });
      }
      await this.audit.record(em, actor, { action: 'change_notice.withdrawn', subjectType: 'ChangeNotice', subjectId: notice.id, changes: { subprocessorId: notice.subprocessorId } });
      await this.audit.record(em, actor, { action: 'subprocessor.change_withdrawn', subjectType: 'Subprocessor', subjectId: notice.subprocessorId, changes: { noticeId: notice.id, kind: notice.kind } });
      for (const r of recipients) {
        await this.mail.enqueue(em, changeNoticeWithdrawnMail, { noticeId: notice.id, legalEntity: notice.subprocessor!.legalEntity, reason: dto.reason, link: this.link(notice.id) },
          { to: [r.customer!.dpoContact.email, ...r.customer!.breachNotificationEmails], customerId: r.customerId, about: { type: 'ChangeNotice', id: notice.id } });
      }
      return toResponse(actor, notice, recipients);
    });
  }

  /** The pending notice of each sub-processor, if any. */
  async pendingFor(em: EntityManager, subprocessorIds: string[]): Promise<Map<string, ChangeNotice>> {
    if (!subprocessorIds.length) return new Map();
    const rows = await em.find(ChangeNotice, { where: { subprocessorId: In(subprocessorIds), status: 'pending' } });
    return new Map(rows.map((n) => [n.subprocessorId, n]));
  }

  /** Due notices, locked for this transaction; other instances skip them rather than wait. */
  async claimDue(em: EntityManager, now: Date, limit: number): Promise<ChangeNotice[]> {
    return em.getRepository(ChangeNotice).createQueryBuilder('n')
      .where('n.status = :status AND n.effectiveAt <= :now', { status: 'pending', now })
      .orderBy('n.effectiveAt', 'ASC').addOrderBy('n.id', 'ASC').limit(limit)
      .setLock('pessimistic_write').setOnLocked('skip_locked').getMany();
  }

  async markEffective(em: EntityManager, actor: Actor, notice: ChangeNotice): Promise<void> {
    notice.status = 'effective';
    notice.appliedAt = this.clock.now();
    await em.save(notice);
    await this.audit.record(em, actor, { action: 'change_notice.effective', subjectType: 'ChangeNotice', subjectId: notice.id, changes: { subprocessorId: notice.subprocessorId, appliedAt: notice.appliedAt } });
  }

  /** Material changes applied after a moment, newest first: undo them to see a sub-processor as it was. */
  async materialChangesAppliedAfter(em: EntityManager, subprocessorIds: string[], at: Date): Promise<ChangeNotice[]> {
    if (!subprocessorIds.length) return [];
    return em.getRepository(ChangeNotice).createQueryBuilder('n')
      .where('n.subprocessorId IN (:...ids) AND n.kind = :kind AND n.status = :status AND n.appliedAt > :at', { ids: subprocessorIds, kind: 'material_change', status: 'effective', at })
      .orderBy('n.appliedAt', 'DESC').getMany();
  }

  /**
   * What one customer had said by a moment. An objection excludes the sub-processor from when it
   * is raised until the DPO resolves it as withdrawn; "alternative route" and "DPA terminated"
   * mean the customer's data stays away from it, so those keep it excluded.
   */
  async consentAt(em: EntityManager, customerId: string, at: Date): Promise<ConsentAt> {
    const ids = async (sql: string) => new Set(((await em.query(sql, [customerId, at])) as { id: string }[]).map((r) => r.id));
    return {
      objected: await ids(`SELECT DISTINCT subprocessor_id AS id FROM objections WHERE customer_id = $1 AND raised_at <= $2
        AND (resolved_at IS NULL OR resolved_at > $2 OR resolution <> 'withdrawn')`),
      approved: await ids(`SELECT DISTINCT n.subprocessor_id AS id FROM change_notice_recipients r JOIN change_notices n ON n.id = r.notice_id
        WHERE r.customer_id = $1 AND r.approved_at <= $2`),
      unapproved: await ids(`SELECT DISTINCT n.subprocessor_id AS id FROM change_notice_recipients r JOIN change_notices n ON n.id = r.notice_id
        WHERE r.customer_id = $1 AND r.approval_required AND n.applied_at <= $2 AND (r.approved_at IS NULL OR r.approved_at > $2)`),
    };
  }

  /** Loads a notice the actor may see, with the recipient rows it may see; anything else is a 404. */
  private async load(em: EntityManager, actor: Actor, id: string, action: 'read' | 'update' = 'read', lock = false) {
    if (lock && isUuid(id)) await em.query('SELECT 1 FROM change_notices WHERE id = $1 FOR UPDATE', [id]);
    const notice = isUuid(id) ? await em.findOne(ChangeNotice, { where: { id }, relations: { subprocessor: true } }) : null;
    if (!notice) throw new NotFoundError('Change notice');
    const all = (await this.recipientsOf(em, [notice.id], true)).get(notice.id) ?? [];
    const recipients = all.filter((r) => actor.ability.can(action, subject('ChangeNotice', { customerId: r.customerId })));
    if (!(actor.ability.can(action, subject('ChangeNotice', { customerId: null })) || recipients.length)) throw new NotFoundError('Change notice');
    return { notice, recipients };
  }

  /** The notice and the actor's own customer's recipient row; a customer it was not sent to gets a 404. */
  async loadAsRecipient(em: EntityManager, actor: Actor, id: string, action: 'object' | 'approve'): Promise<{ notice: ChangeNotice; recipient: ChangeNoticeRecipient }> {
    // Shares the notice's row lock with other recipients but waits for a withdrawal in progress,
    // so an objection or approval never lands on a notice withdrawn a moment before.
    if (isUuid(id)) await em.query('SELECT 1 FROM change_notices WHERE id = $1 FOR SHARE', [id]);
    const notice = isUuid(id) ? await em.findOne(ChangeNotice, { where: { id }, relations: { subprocessor: true } }) : null;
    const recipient = notice && actor.customerId
      ? await em.findOne(ChangeNoticeRecipient, { where: { noticeId: notice.id, customerId: actor.customerId }, lock: { mode: 'pessimistic_write' } })
      : null;
    if (!notice || !recipient || !actor.ability.can(action, subject('ChangeNotice', { customerId: recipient.customerId }))) throw new NotFoundError('Change notice');
    return { notice, recipient };
  }

  async hasOpenObjection(em: EntityManager, noticeId: string, customerId: string): Promise<boolean> {
    const [row] = (await em.query('SELECT 1 FROM objections WHERE notice_id = $1 AND customer_id = $2 AND resolved_at IS NULL LIMIT 1', [noticeId, customerId])) as unknown[];
    return row !== undefined;
  }

  private async recipientsOf(em: EntityManager, noticeIds: string[], withCustomer = false): Promise<Map<string, ChangeNoticeRecipient[]>> {
    const out = new Map<string, ChangeNoticeRecipient[]>();
    if (!noticeIds.length) return out;
    const rows = await em.find(ChangeNoticeRecipient, { where: { noticeId: In(noticeIds) }, relations: { customer: withCustomer }, order: { objectionDeadline: 'ASC', customerId: 'ASC' } });
    for (const r of rows) out.set(r.noticeId, [...(out.get(r.noticeId) ?? []), r]);
    return out;
  }

  private link(noticeId: string): string {
    return `${this.config.publicBaseUrl}/api/v1/change-notices/${noticeId}`;
  }
}

/**
 * A notice as a whole, not as one customer's: readable by roles whose rule has no customer
 * condition (DPO, legal, auditor). Customers read it through their own recipient row.
 */
function seesEveryNotice(actor: Actor): boolean {
  return actor.ability.can('read', subject('ChangeNotice', { customerId: null }));
}


function toResponse(actor: Actor, n: ChangeNotice, recipients: ChangeNoticeRecipient[]): ChangeNoticeResponse {
  const s = n.subprocessor!;
  return {
    id: n.id, kind: n.kind, status: n.status, reason: n.reason, changes: n.changes,
    proposedAt: n.proposedAt.toISOString(), effectiveAt: n.effectiveAt.toISOString(), appliedAt: n.appliedAt?.toISOString() ?? null,
    subprocessor: { id: s.id, legalEntity: s.legalEntity, country: s.country, role: s.role, purpose: s.purpose },
    recipients: recipients
      .filter((r) => actor.ability.can('read', subject('ChangeNotice', { customerId: r.customerId })))
      .map((r) => ({ customerId: r.customerId, objectionDeadline: r.objectionDeadline.toISOString(), approvalRequired: r.approvalRequired, approvedAt: r.approvedAt?.toISOString() ?? null })),
  };
}
