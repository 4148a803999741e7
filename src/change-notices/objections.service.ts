import { subject } from '@casl/ability';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Actor } from '../access/ability';
import { scopeQuery } from '../access/scoping';
import { UsersService } from '../access/users.service';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { ConflictError, ForbiddenError, NotFoundError } from '../common/errors';
import { decodeCursor, Page, toPage, isTimeCursor } from '../common/pagination';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { MailService } from '../notifications/mail.service';
import { ChangeNoticeRecipient, Objection } from './change-notice.entity';
import { objectionRaisedMail } from './change-notice.mail';
import { ChangeNoticesService } from './change-notices.service';
import { ObjectionQuery, ObjectionResponse, ReasonDto, ResolveObjectionDto } from './dto/change-notice.dto';
import { loadVisible } from '../access/load-visible';

/** A customer's objection to a change notice; while it stands, the sub-processor is not authorised for it. */
@Injectable()
export class ObjectionsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly mail: MailService,
    private readonly notices: ChangeNoticesService,
    private readonly users: UsersService,
  ) {}

  /** Raised by the customer's own users, before its deadline, one open objection per notice. */
  async object(actor: Actor, noticeId: string, dto: ReasonDto): Promise<ObjectionResponse> {
    if (!actor.customerId) throw new ForbiddenError('Objections are raised by the affected customer\'s own users');
    return this.dataSource.transaction(async (em) => {
      // Locks this customer's recipient row: two objections at once cannot both pass the checks.
      const { notice, recipient } = await this.notices.loadAsRecipient(em, actor, noticeId, 'object');
      if (!actor.ability.can('create', subject('Objection', { customerId: recipient.customerId }))) throw new NotFoundError('Change notice');
      if (notice.status === 'withdrawn') throw new ConflictError('This change notice was withdrawn; there is nothing to object to');
      const now = this.clock.now();
      if (now >= recipient.objectionDeadline) {
        throw new ConflictError(`The objection period ended at ${recipient.objectionDeadline.toISOString()}`, { objectionDeadline: recipient.objectionDeadline.toISOString() });
      }
      if (await this.notices.hasOpenObjection(em, notice.id, recipient.customerId)) throw new ConflictError('Your objection to this notice is already open');
      const objection = await em.save(em.create(Objection, {
        noticeId: notice.id, customerId: recipient.customerId, subprocessorId: notice.subprocessorId, reason: dto.reason, raisedBy: actor.id, raisedAt: now,
        resolution: null, resolutionNote: null, resolvedBy: null, resolvedAt: null,
      }));
      // The reason is the customer's own words: kept on the row, not in the unerasable log.
      await this.audit.record(em, actor, { action: 'objection.raised', subjectType: 'Objection', subjectId: objection.id, changes: { noticeId: notice.id, customerId: recipient.customerId, subprocessorId: notice.subprocessorId } });
      // The DPO must act on it: the sub-processor is blocked for this customer until resolved.
      const dpos = await this.users.emailsOfRole(em, 'dpo');
      if (dpos.length) {
        const { customer } = await em.findOneOrFail(ChangeNoticeRecipient, { where: { noticeId: notice.id, customerId: recipient.customerId }, relations: { customer: true } });
        await this.mail.enqueue(em, objectionRaisedMail, {
          noticeId: notice.id, objectionId: objection.id, legalEntity: notice.subprocessor!.legalEntity, customerName: customer!.legalName,
          reason: dto.reason, raisedAt: now, link: `${this.config.publicBaseUrl}/api/v1/objections/${objection.id}/resolution`,
        }, { to: dpos, about: { type: 'Objection', id: objection.id } });
      }
      return toResponse(objection);
    });
  }

  async list(actor: Actor, query: ObjectionQuery): Promise<Page<ObjectionResponse>> {
    const before = decodeCursor(query.cursor, isTimeCursor);
    const qb = this.dataSource.getRepository(Objection).createQueryBuilder('o');
    scopeQuery(qb, actor.ability, 'read', 'Objection');
    if (query.noticeId) qb.andWhere('o.noticeId = :noticeId', { noticeId: query.noticeId });
    if (query.state === 'open') qb.andWhere('o.resolvedAt IS NULL');
    if (query.state === 'resolved') qb.andWhere('o.resolvedAt IS NOT NULL');
    if (before) qb.andWhere('(o.raisedAt, o.id) < (:at, :id)', { at: before[0], id: before[1] });
    const rows = await qb.orderBy('o.raisedAt', 'DESC').addOrderBy('o.id', 'DESC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (o) => [o.raisedAt.toISOString(), o.id]);
  }

  /** The DPO closes an objection: withdrawn, alternative route agreed, or DPA terminated. */
  async resolve(actor: Actor, id: string, dto: ResolveObjectionDto): Promise<ObjectionResponse> {
    return this.dataSource.transaction(async (em) => {
      const objection = await loadVisible(em, actor, 'update', { entity: Objection, subject: 'Objection', name: 'Objection' }, id, true);
      if (objection.resolvedAt) throw new ConflictError(`This objection was already resolved (${objection.resolution}) at ${objection.resolvedAt.toISOString()}`);
      Object.assign(objection, { resolution: dto.resolution, resolutionNote: dto.note, resolvedBy: actor.id, resolvedAt: this.clock.now() });
      await em.save(objection);
      await this.audit.record(em, actor, { action: 'objection.resolved', subjectType: 'Objection', subjectId: objection.id, changes: { resolution: dto.resolution, customerId: objection.customerId, subprocessorId: objection.subprocessorId } });
      return toResponse(objection);
    });
  }
}

function toResponse(o: Objection): ObjectionResponse {
  return {
    id: o.id, noticeId: o.noticeId, customerId: o.customerId, subprocessorId: o.subprocessorId, reason: o.reason, raisedBy: o.raisedBy,
    raisedAt: o.raisedAt.toISOString(), resolution: o.resolution, resolutionNote: o.resolutionNote, resolvedBy: o.resolvedBy,
    resolvedAt: o.resolvedAt?.toISOString() ?? null,
  };
}
