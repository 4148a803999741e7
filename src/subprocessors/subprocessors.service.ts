import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Action, Actor } from '../access/ability';
import { scopeKey, scopeQuery } from '../access/scoping';
import { AuditService } from '../audit/audit.service';
import type { ChangeNotice } from '../change-notices/change-notice.entity';
import { ChangeNoticesService } from '../change-notices/change-notices.service';
import { ChangeNoticeResponse } from '../change-notices/dto/change-notice.dto';
import { Clock } from '../common/clock';
import { ConflictError, ValidationProblem } from '../common/errors';
import { ReadCache } from '../common/read-cache';
import { sharedReply } from '../common/shared-replies';
import { decodeCursor, Page, PageQuery, toPage, isKeyCursor } from '../common/pagination';
import { ActiveAgreement, DpasService } from '../dpas/dpas.service';
import {
  CreateSubprocessorDto, HistoryEntryResponse, ProposeChangeDto, SubprocessorQuery, SubprocessorResponse, TransitionDto, UpdateSubprocessorDto,
} from './dto/subprocessor.dto';
import {
  applyChanges, carriesFor, changedFields, checkManualTransition, EDITABLE_FIELDS, FieldChanges, shapeProblems, splitMaterial, SubprocessorShape,
} from './subprocessor-rules';
import { Subprocessor, SubprocessorStatus, SubprocessorStatusChange } from './subprocessor.entity';
import { loadVisible } from '../access/load-visible';

/** Notices made effective per transaction by the scheduled job. */
const APPLY_BATCH = 50;

/** The DPO's registry: lifecycle, material changes through change notices, full history. */
@Injectable()
export class SubprocessorsService {
  private readonly logger = new Logger(SubprocessorsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly notices: ChangeNoticesService,
    private readonly dpas: DpasService,
    private readonly cache: ReadCache,
  ) {}

  async create(actor: Actor, dto: CreateSubprocessorDto): Promise<SubprocessorResponse> {
    const shape = normalise({
      legalEntity: dto.legalEntity, parentCompany: dto.parentCompany ?? null, country: dto.country, role: dto.role, services: dto.services,
      purpose: dto.purpose, dataCategories: dto.dataCategories, carriesCountries: dto.carriesCountries ?? [], global: dto.global ?? false,
      transferMechanism: dto.transferMechanism, certifications: dto.certifications ?? [], lastSecurityReview: dto.lastSecurityReview ?? null,
    });
    checkShape(shape);
    return this.dataSource.transaction(async (em) => {
      const sub = await em.save(em.create(Subprocessor, { ...shape, status: 'proposed', activeSince: null }));
      await this.recordStatus(em, sub);
      await this.audit.record(em, actor, { action: 'subprocessor.created', subjectType: 'Subprocessor', subjectId: sub.id, changes: { ...shape, status: sub.status } });
      return toResponse(sub, null);
    });
  }

  async list(actor: Actor, query: SubprocessorQuery): Promise<Page<SubprocessorResponse>> {
    const key = `subprocessors ${scopeKey(actor.ability, 'read', 'Subprocessor')} ${JSON.stringify(query)}`;
    return this.cache.read(key, async () => ({ value: sharedReply(await this.readList(actor, query)) }));
  }

  private async readList(actor: Actor, query: SubprocessorQuery): Promise<Page<SubprocessorResponse>> {
    const after = decodeCursor(query.cursor, isKeyCursor);
    const qb = this.dataSource.getRepository(Subprocessor).createQueryBuilder('s');
    scopeQuery(qb, actor.ability, 'read', 'Subprocessor');
    if (query.status) qb.andWhere('s.status = :status', { status: query.status });
    if (after) qb.andWhere('(s.legalEntity, s.id) > (:name, :id)', { name: after[0], id: after[1] });
    const rows = await qb.orderBy('s.legalEntity', 'ASC').addOrderBy('s.id', 'ASC').limit(query.limit + 1).getMany();
    const pending = await this.notices.pendingFor(this.dataSource.manager, rows.map((s) => s.id));
    return toPage(rows, query.limit, (s) => toResponse(s, pending.get(s.id) ?? null), (s) => [s.legalEntity, s.id]);
  }

  async get(actor: Actor, id: string): Promise<SubprocessorResponse> {
    const sub = await this.load(this.dataSource.manager, actor, 'read', id);
    return toResponse(sub, (await this.notices.pendingFor(this.dataSource.manager, [sub.id])).get(sub.id) ?? null);
  }

  /**
   * Applies what may change at once; on a sub-processor in service, material changes go into a
   * change notice instead and apply when it takes effect.
   */
  async update(actor: Actor, id: string, dto: UpdateSubprocessorDto): Promise<SubprocessorResponse> {
    const { reason, ...fields } = dto;
    return this.dataSource.transaction(async (em) => {
      const sub = await this.load(em, actor, 'update', id, true);
      let pending = (await this.notices.pendingFor(em, [sub.id])).get(sub.id) ?? null;
      const before = shapeOf(sub);
      const target = normalise({ ...before, ...definedOnly(fields) });
      // Validated as it will be once everything announced has applied too.
      checkShape(applyChanges({ ...target }, pending?.changes ?? {}));
      const inService = sub.status === 'active' || sub.status === 'suspended';
      const { immediate, material } = splitMaterial(before, target);
      if (Object.keys(material).length && pending) {
        throw new ConflictError('A change notice for this sub-processor is pending; material changes wait until it takes effect or is withdrawn', { pendingChangeNotice: pending.id });
      }
      const now = inService ? immediate : { ...immediate, ...material };
      const later = inService ? material : {};
      if (Object.keys(later).length && !reason) {
        throw new ValidationProblem([{ field: 'reason', messages: [`reason is required: changing ${Object.keys(later).join(', ')} of a sub-processor in service is announced to the customers`] }]);
      }
      if (Object.keys(now).length) {
        applyChanges(sub, now);
        await em.save(sub);
        await this.audit.record(em, actor, { action: 'subprocessor.updated', subjectType: 'Subprocessor', subjectId: sub.id, changes: { ...now, ...(reason ? { reason } : {}) } });
      }
      if (Object.keys(later).length) {
        const announced = applyChanges(Object.assign(new Subprocessor(), sub), later);
        pending = await this.notices.announce(em, actor, {
          subprocessor: announced, kind: 'material_change', changes: later as ChangeNotice['changes'], reason: reason!,
          affected: await this.affected(em, [shapeOf(sub), shapeOf(announced)]),
        });
        await this.audit.record(em, actor, { action: 'subprocessor.change_proposed', subjectType: 'Subprocessor', subjectId: sub.id, changes: { noticeId: pending.id, kind: pending.kind, changes: later, effectiveAt: pending.effectiveAt } });
      }
      return toResponse(sub, pending);
    });
  }

  async transition(actor: Actor, id: string, dto: TransitionDto): Promise<SubprocessorResponse> {
    return this.dataSource.transaction(async (em) => {
      const sub = await this.load(em, actor, 'update', id, true);
      checkManualTransition(sub.status, dto.to);
      await this.setStatus(em, actor, sub, dto.to, dto.reason ? { reason: dto.reason } : {});
      return toResponse(sub, (await this.notices.pendingFor(em, [sub.id])).get(sub.id) ?? null);
    });
  }

  /** Art. 28(2): an approved sub-processor goes active only after its affected customers were told. */
  async proposeActivation(actor: Actor, id: string, dto: ProposeChangeDto): Promise<ChangeNoticeResponse> {
    const noticeId = await this.dataSource.transaction(async (em) => {
      const sub = await this.load(em, actor, 'update', id, true);
      if (sub.status !== 'approved') {
        throw new ConflictError(`Only an approved sub-processor can be proposed for activation; this one is ${sub.status}`, { currentStatus: sub.status });
      }
      const notice = await this.notices.announce(em, actor, {
        subprocessor: sub, kind: 'new_subprocessor', changes: { status: { from: 'approved', to: 'active' } }, reason: dto.reason,
        affected: await this.affected(em, [shapeOf(sub)]),
      });
      await this.audit.record(em, actor, { action: 'subprocessor.change_proposed', subjectType: 'Subprocessor', subjectId: sub.id, changes: { noticeId: notice.id, kind: notice.kind, effectiveAt: notice.effectiveAt } });
      return notice.id;
    });
    return this.notices.get(actor, noticeId);
  }

  async history(actor: Actor, id: string, query: PageQuery): Promise<Page<HistoryEntryResponse>> {
    const sub = await this.load(this.dataSource.manager, actor, 'read', id);
    const page = await this.audit.historyOf('Subprocessor', sub.id, query);
    return {
      items: page.items.map((e) => ({ seq: e.seq, at: e.at, actorType: e.actorType, actorId: e.actorId, action: e.action, changes: e.changes, requestId: e.requestId })),
      nextCursor: page.nextCursor,
    };
  }

  /**
   * The scheduled job's work for specific authorisation: each customer whose DPA in force requires
   * it becomes a recipient, with approval required, of the announcement of every active
   * sub-processor carrying its destination countries that it was never told of (its DPA came into
   * force later, or its countries grew), so it can approve it. One transaction per customer, under
   * the customer's row lock (as DPA activation takes), so two runs never enrol or mail twice.
   */
  async enrolSpecificAuthorisations(actor: Actor, now: Date): Promise<Record<string, number>> {
    const specific = (await this.dpas.activeAgreements(this.dataSource.manager, now)).filter(({ dpa }) => dpa.authorisation === 'specific');
    let customersEnrolled = 0;
    let noticesEnrolled = 0;
    for (const { customer } of specific) {
      const added = await this.dataSource.transaction(async (em) => {
        await em.query('SELECT 1 FROM customers WHERE id = $1 FOR UPDATE', [customer.id]);
        const [agreement] = await this.dpas.activeAgreements(em, now, customer.id);
        if (agreement?.dpa.authorisation !== 'specific') return 0;
        const carrying = (await em.findBy(Subprocessor, { status: 'active' })).filter((s) => carriesFor(s, agreement.customer.destinationCountries));
        return (await this.notices.enrolForApproval(em, actor, agreement, carrying, now)).length;
      });
      if (added) customersEnrolled++;
      noticesEnrolled += added;
    }
    return { customersEnrolled, noticesEnrolled };
  }

  /**
   * The scheduled job's work: every notice whose date has come takes effect, in batches; rows
   * another instance holds are skipped, and a notice already effective is never applied twice.
   */
  async applyDueNotices(actor: Actor, now: Date): Promise<Record<string, number>> {
    let applied = 0;
    let failed = 0;
    for (;;) {
      const [done, broken] = await this.dataSource.transaction(async (em) => {
        const due = await this.notices.claimDue(em, now, APPLY_BATCH);
        let ok = 0;
        let bad = 0;
        for (const notice of due) {
          // Each notice in a savepoint: one that cannot be applied must not hold up the others.
          try {
            await em.transaction((inner) => this.applyNotice(inner, actor, notice));
            ok++;
          } catch (error) {
            bad++;
            this.logger.error(`change notice ${notice.id} could not take effect: ${(error as Error).message}`);
          }
        }
        return [ok, bad] as const;
      });
      applied += done;
      failed += broken;
      // A failed notice stays pending and would be claimed again: leave it to the next run.
      if (done + broken < APPLY_BATCH || broken > 0) return { noticesApplied: applied, noticesFailed: failed };
    }
  }

  private async applyNotice(em: EntityManager, actor: Actor, notice: ChangeNotice): Promise<void> {
    const sub = await em.findOneOrFail(Subprocessor, { where: { id: notice.subprocessorId }, lock: { mode: 'pessimistic_write' } });
    if (notice.kind === 'new_subprocessor') {
      // Only an approved one activates; the lifecycle offers no other way out of approved.
      if (sub.status === 'approved') await this.setStatus(em, actor, sub, 'active', { noticeId: notice.id });
    } else {
      const before = shapeOf(sub);
      applyChanges(sub, notice.changes as FieldChanges);
      await em.save(sub);
      await this.audit.record(em, actor, { action: 'subprocessor.updated', subjectType: 'Subprocessor', subjectId: sub.id, changes: { ...changedFields(before, shapeOf(sub)), noticeId: notice.id } });
    }
    await this.notices.markEffective(em, actor, notice);
  }

  /** Loads a row the actor may act on; one it may not see answers exactly like a missing one. */
  private async load(em: EntityManager, actor: Actor, action: Action, id: string, lock = false): Promise<Subprocessor> {
    return loadVisible(em, actor, action, { entity: Subprocessor, subject: 'Subprocessor', name: 'Sub-processor' }, id, lock);
  }

  /** Customers with a DPA in force now whose traffic any of these shapes carries. */
  private async affected(em: EntityManager, shapes: SubprocessorShape[]): Promise<ActiveAgreement[]> {
    const agreements = await this.dpas.activeAgreements(em, this.clock.now());
    return agreements.filter(({ customer }) => shapes.some((s) => carriesFor(s, customer.destinationCountries)));
  }

  private async setStatus(em: EntityManager, actor: Actor, sub: Subprocessor, to: SubprocessorStatus, extra: Record<string, unknown>) {
    const from = sub.status;
    sub.status = to;
    if (to === 'active' && !sub.activeSince) sub.activeSince = this.clock.now();
    await em.save(sub);
    const at = await this.recordStatus(em, sub);
    await this.audit.record(em, actor, { action: 'subprocessor.status_changed', subjectType: 'Subprocessor', subjectId: sub.id, changes: { status: { from, to }, at, ...extra } });
  }

  /**
   * Appends to the status timeline that authorisation is answered from. Two changes in the same
   * instant would make "the status at t" ambiguous, so a change is placed at least a microsecond
   * after the previous one (the caller holds the sub-processor's row lock).
   */
  private async recordStatus(em: EntityManager, sub: Subprocessor): Promise<Date> {
    const [row] = (await em.query(
      `INSERT INTO subprocessor_status_changes (subprocessor_id, status, at)
       SELECT $1, $2, GREATEST($3::timestamptz, (SELECT max(at) + interval '1 microsecond' FROM subprocessor_status_changes WHERE subprocessor_id = $1))
       RETURNING at`,
      [sub.id, sub.status, this.clock.now()],
    )) as Pick<SubprocessorStatusChange, 'at'>[];
    return row.at;
  }
}

function shapeOf(s: SubprocessorShape): SubprocessorShape {
  return Object.fromEntries(EDITABLE_FIELDS.map((f) => [f, s[f]])) as SubprocessorShape;
}

function normalise(s: SubprocessorShape): SubprocessorShape {
  return {
    ...s,
    country: s.country.toUpperCase(),
    carriesCountries: [...new Set(s.carriesCountries.map((c) => c.toUpperCase()))].sort(),
    certifications: s.certifications.map((c) => ({ name: c.name, expiresAt: c.expiresAt })),
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkShape(shape: SubprocessorShape): void {
  const problems = shapeProblems(shape);
  if (problems.length) throw new ValidationProblem(problems);
}

function toResponse(s: Subprocessor, pending: ChangeNotice | null): SubprocessorResponse {
  return {
    id: s.id, legalEntity: s.legalEntity, parentCompany: s.parentCompany, country: s.country, role: s.role, services: s.services,
    purpose: s.purpose, dataCategories: s.dataCategories, carriesCountries: s.carriesCountries, global: s.global,
    transferMechanism: s.transferMechanism, certifications: s.certifications, lastSecurityReview: s.lastSecurityReview,
    status: s.status, activeSince: s.activeSince?.toISOString() ?? null,
    pendingChangeNotice: pending ? { id: pending.id, kind: pending.kind, effectiveAt: pending.effectiveAt.toISOString(), changes: pending.changes } : null,
    createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString(),
  };
}
