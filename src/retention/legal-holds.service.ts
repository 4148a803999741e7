import { subject } from '@casl/ability';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Action, Actor } from '../access/ability';
import { loadVisible } from '../access/load-visible';
import { scopeQuery } from '../access/scoping';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { ConflictError, NotFoundError, ValidationProblem } from '../common/errors';
import { decodeCursor, isTimeCursor, Page, toPage } from '../common/pagination';
import { CustomersService } from '../customers/customers.service';
import { KeyRing } from '../messages/key-ring';
import { LegalHoldQuery, LegalHoldResponse, PlaceLegalHoldDto, ReleaseLegalHoldDto } from './dto/legal-hold.dto';
import { LegalHold } from './legal-hold.entity';
import { lockCustomerHolds } from './retention-sql';

/** A hold as other modules place it (the breach workflow places one per affected customer). */
export interface LegalHoldInput {
  customerId: string;
  /** Narrows the hold to one data subject: an E.164 number in any common written form; kept only as its blind index. */
  msisdn?: string | null;
  /** Held from this submitted-at on (inclusive). */
  from?: Date | null;
  /** Held up to this submitted-at (exclusive). */
  to?: Date | null;
  reason: string;
  incidentId?: string | null;
}

const HOLD = { entity: LegalHold, subject: 'LegalHold' as const, name: 'Legal hold' };

/**
 * Legal holds keep a customer's message data past its retention: all of it, or one phone
 * number's, optionally within a time range. Placing and releasing take the customer's hold lock,
 * so they serialise with the purge destroying that customer's keys.
 */
@Injectable()
export class LegalHoldsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly customers: CustomersService,
    private readonly keys: KeyRing,
  ) {}

  async create(actor: Actor, dto: PlaceLegalHoldDto): Promise<LegalHoldResponse> {
    return this.dataSource.transaction(async (em) => {
      if (!actor.ability.can('create', subject('LegalHold', { customerId: dto.customerId }))) throw new NotFoundError('Customer');
      const hold = await this.place(em, actor, {
        customerId: dto.customerId, msisdn: dto.msisdn, reason: dto.reason, incidentId: dto.incidentId ?? null,
        from: dto.from ? new Date(dto.from) : null, to: dto.to ? new Date(dto.to) : null,
      });
      return toResponse(hold);
    });
  }

  /**
   * Places a hold, with its audit entry, inside the caller's transaction (other modules call this;
   * the caller has decided that the actor may). Throws a ValidationProblem for an unknown
   * customer, an empty time range or a phone number that is not one (without repeating it).
   */
  async place(em: EntityManager, actor: Actor, input: LegalHoldInput): Promise<LegalHold> {
    if (!(await this.customers.exists(em, input.customerId))) {
      throw new ValidationProblem([{ field: 'customerId', messages: ['customerId does not name an existing customer'] }]);
    }
    if (input.from && input.to && input.from.getTime() >= input.to.getTime()) {
      throw new ValidationProblem([{ field: 'to', messages: ['to must be later than from'] }]);
    }
    const msisdnHash = input.msisdn === undefined || input.msisdn === null ? null : this.blindIndex(input.customerId, input.msisdn);
    await lockCustomerHolds(em, input.customerId);
    const hold = await em.save(em.create(LegalHold, {
      customerId: input.customerId, msisdnHash, fromAt: input.from ?? null, toAt: input.to ?? null, reason: input.reason,
      incidentId: input.incidentId ?? null, placedBy: actor.kind === 'system' ? null : actor.id, placedAt: this.clock.now(),
      releasedAt: null, releasedBy: null, releaseReason: null,
    }));
    // Neither the number (not even its hash) nor the reason, which may name people, goes into the unerasable log.
    await this.audit.record(em, actor, {
      action: 'legal_hold.placed', subjectType: 'LegalHold', subjectId: hold.id,
      changes: { customerId: hold.customerId, scope: msisdnHash ? 'one_phone_number' : 'whole_customer', from: hold.fromAt, to: hold.toAt, incidentId: hold.incidentId },
    });
    return hold;
  }

  async list(actor: Actor, query: LegalHoldQuery): Promise<Page<LegalHoldResponse>> {
    const before = decodeCursor(query.cursor, isTimeCursor);
    const qb = this.dataSource.getRepository(LegalHold).createQueryBuilder('h');
    scopeQuery(qb, actor.ability, 'read', 'LegalHold');
    if (query.customerId) qb.andWhere('h.customerId = :customerId', { customerId: query.customerId });
    if (query.active === 'true') qb.andWhere('h.releasedAt IS NULL');
    if (query.active === 'false') qb.andWhere('h.releasedAt IS NOT NULL');
    if (before) qb.andWhere('(h.placedAt, h.id) < (:at, :id)', { at: before[0], id: before[1] });
    const rows = await qb.orderBy('h.placedAt', 'DESC').addOrderBy('h.id', 'DESC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (h) => [h.placedAt.toISOString(), h.id]);
  }

  async get(actor: Actor, id: string): Promise<LegalHoldResponse> {
    return toResponse(await this.load(this.dataSource.manager, actor, 'read', id));
  }

  /** Ends a hold; the next purge takes what it kept and has expired. 409 when already released. */
  async release(actor: Actor, id: string, dto: ReleaseLegalHoldDto): Promise<LegalHoldResponse> {
    return this.dataSource.transaction(async (em) => {
      const { customerId } = await this.load(em, actor, 'update', id);
      await lockCustomerHolds(em, customerId);
      const hold = await em.findOneOrFail(LegalHold, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (hold.releasedAt) throw new ConflictError(`This legal hold was already released at ${hold.releasedAt.toISOString()}`, { releasedAt: hold.releasedAt.toISOString() });
      Object.assign(hold, { releasedAt: this.clock.now(), releasedBy: actor.kind === 'system' ? null : actor.id, releaseReason: dto.reason });
      await em.save(hold);
      await this.audit.record(em, actor, {
        action: 'legal_hold.released', subjectType: 'LegalHold', subjectId: hold.id, changes: { customerId: hold.customerId, releasedAt: hold.releasedAt },
      });
      return toResponse(hold);
    });
  }

  private load(em: EntityManager, actor: Actor, action: Action, id: string): Promise<LegalHold> {
    return loadVisible(em, actor, action, HOLD, id);
  }

  private blindIndex(customerId: string, msisdn: string): Buffer {
    try {
      return this.keys.blindIndex(customerId, msisdn);
    } catch {
      throw new ValidationProblem([{ field: 'msisdn', messages: ['msisdn must be a phone number in international (E.164) form, e.g. +4915112345678'] }]);
    }
  }
}

function toResponse(h: LegalHold): LegalHoldResponse {
  return {
    id: h.id,
    customerId: h.customerId,
    phoneNumber: h.msisdnHash ? 'set' : null,
    from: h.fromAt?.toISOString() ?? null,
    to: h.toAt?.toISOString() ?? null,
    reason: h.reason,
    incidentId: h.incidentId,
    placedBy: h.placedBy,
    placedAt: h.placedAt.toISOString(),
    active: h.releasedAt === null,
    releasedAt: h.releasedAt?.toISOString() ?? null,
    releasedBy: h.releasedBy,
    releaseReason: h.releaseReason,
  };
}
