import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Action, Actor } from '../access/ability';
import { loadVisible } from '../access/load-visible';
import { scopeQuery } from '../access/scoping';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { ConflictError, ForbiddenError, InvalidTransitionError, NotFoundError, ValidationProblem } from '../common/errors';
import { isUuid } from '../common/ids';
import { decodeCursor, isTimeCursor, Page, toPage } from '../common/pagination';
import { CustomersService } from '../customers/customers.service';
import { DpasService } from '../dpas/dpas.service';
import { impactScope } from '../messages/impact-scope';
import { LegalHoldsService } from '../retention/legal-holds.service';
import {
  IncidentClockResponse, IncidentCommentDto, IncidentCustomerDto, IncidentCustomerResponse, IncidentEventResponse, IncidentQuery, IncidentResponse, IncidentScopeResponse,
  ReportIncidentDto, TransitionIncidentDto, UpdateIncidentDto,
} from './dto/incident.dto';
import { IncidentCustomer } from './incident-customer.entity';
import { IncidentEvent } from './incident-event.entity';
import { clockEntry, noticeWindows } from './notice-windows';
import { actorId, addToTimeline, type TimelineEntry } from './timeline';
import { Incident, INCIDENT_ROW } from './incident.entity';
import { actionFor, canTransition, INCIDENT_TRANSITIONS, type IncidentStatus } from './incident-lifecycle';


/** From the breach's confirmation on, its scoped data is kept as evidence. */
const HELD_STATUSES: readonly IncidentStatus[] = ['confirmed_breach', 'notifying', 'notified'];

/** How far ahead of this server's clock a reported time may lie (clocks differ a little). */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Incidents and their timeline (docs/incidents.md): the security role reports and triages, the
 * DPO decides whether there was a personal data breach. Every change writes its timeline entry and
 * its audit entry in the same transaction; free text (description, reasons, comments) stays on
 * the incident and its timeline, out of the audit log.
 */
@Injectable()
export class IncidentsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly holds: LegalHoldsService,
    private readonly dpas: DpasService,
    private readonly customers: CustomersService,
  ) {}

  async report(actor: Actor, dto: ReportIncidentDto): Promise<IncidentResponse> {
    const now = this.clock.now();
    const facts = {
      detectedAt: new Date(dto.detectedAt), becameAwareAt: new Date(dto.becameAwareAt),
      windowFrom: dto.windowFrom ? new Date(dto.windowFrom) : null, windowTo: dto.windowTo ? new Date(dto.windowTo) : null,
      subprocessorIds: dto.subprocessorIds ?? [], internalSystems: dto.internalSystems ?? [],
    };
    return this.dataSource.transaction(async (em) => {
      await this.checkFacts(em, facts, now);
      const incident = await em.save(em.create(Incident, {
        ...facts, title: dto.title, description: dto.description, dataCategories: dto.dataCategories, nature: dto.nature,
        maliciousIntent: dto.maliciousIntent, status: 'reported', reportedBy: actorId(actor), reportedAt: now, updatedAt: now,
      }));
      await this.event(em, actor, incident, { kind: 'reported', toStatus: 'reported' });
      await this.audit.record(em, actor, {
        action: 'incident.reported', subjectType: 'Incident', subjectId: incident.id,
        changes: {
          subprocessorIds: incident.subprocessorIds, internalSystems: incident.internalSystems, dataCategories: incident.dataCategories,
          nature: incident.nature, maliciousIntent: incident.maliciousIntent, becameAwareAt: incident.becameAwareAt,
        },
      });
      return this.respond(em, incident);
    });
  }

  async list(actor: Actor, query: IncidentQuery): Promise<Page<IncidentResponse>> {
    const before = decodeCursor(query.cursor, isTimeCursor);
    const qb = this.dataSource.getRepository(Incident).createQueryBuilder('i');
    scopeQuery(qb, actor.ability, 'read', 'Incident');
    if (query.status) qb.andWhere('i.status = :status', { status: query.status });
    if (before) qb.andWhere('(i.reportedAt, i.id) < (:at, :id)', { at: before[0], id: before[1] });
    const rows = await qb.orderBy('i.reportedAt', 'DESC').addOrderBy('i.id', 'DESC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, (i) => toResponse(i), (i) => [i.reportedAt.toISOString(), i.id]);
  }

  async get(actor: Actor, id: string): Promise<IncidentResponse> {
    const em = this.dataSource.manager;
    return this.respond(em, await loadVisible(em, actor, 'read', INCIDENT_ROW, id));
  }

  /**
   * Moves an incident along its lifecycle: 409 naming the allowed next statuses when `to` is not
   * one; 403 when the step is not the actor's to take (the breach decision is the DPO's); 400 when
   * a dismissal gives no reason.
   */
  async transition(actor: Actor, id: string, dto: TransitionIncidentDto): Promise<IncidentResponse> {
    return this.dataSource.transaction(async (em) => {
      const incident = await loadVisible(em, actor, 'read', INCIDENT_ROW, id, true);
      const from = incident.status;
      if (!canTransition(from, dto.to)) throw new InvalidTransitionError('An incident', from, dto.to, INCIDENT_TRANSITIONS[from]);
      this.mayTake(actor, actionFor(dto.to), `move an incident to ${dto.to}`);
      if (dto.to === 'dismissed' && !dto.reason) {
        throw new ValidationProblem([{ field: 'reason', messages: ['reason is required to dismiss an incident (at least 10 characters)'] }]);
      }
      if (dto.to === 'notified' || dto.to === 'closed') await this.checkEveryoneTold(em, incident);
      if (dto.declineLegalHold && dto.to !== 'confirmed_breach') {
        throw new ValidationProblem([{ field: 'declineLegalHold', messages: ['declineLegalHold goes only with confirming a breach'] }]);
      }
      incident.status = dto.to;
      incident.updatedAt = this.clock.now();
      if (dto.declineLegalHold) incident.legalHoldDeclinedReason = dto.declineLegalHold.reason;
      await em.save(incident);
      await this.event(em, actor, incident, { kind: 'status_changed', fromStatus: from, toStatus: dto.to, text: dto.reason ?? null });
      await this.audit.record(em, actor, {
        action: 'incident.status_changed', subjectType: 'Incident', subjectId: incident.id,
        changes: { status: { from, to: dto.to }, withReason: !!dto.reason, ...(dto.declineLegalHold ? { legalHoldDeclined: true } : {}) },
      });
      await this.holdEvidence(em, actor, incident);
      return this.respond(em, incident);
    });
  }

  /**
   * A customer included after everyone was told (by the DPO, or by rescoping) still has to be:
   * the incident goes back to `notifying`, so its deadline escalates and it cannot be closed
   * before that customer is notified too.
   */
  private async reopenIfUntold(em: EntityManager, actor: Actor, incident: Incident): Promise<void> {
    if (incident.status !== 'notified') return;
    if (!(await noticeWindows(em, this.dpas, incident)).some((w) => !w.sentAt)) return;
    incident.status = 'notifying';
    await em.save(incident);
    await this.event(em, actor, incident, { kind: 'status_changed', fromStatus: 'notified', toStatus: 'notifying', text: 'an included customer has not been notified yet' });
    await this.audit.record(em, actor, {
      action: 'incident.status_changed', subjectType: 'Incident', subjectId: incident.id, changes: { status: { from: 'notified', to: 'notifying' }, automatic: true },
    });
  }

  /**
   * 'notified' follows from the notifications: the breach-deadlines job sets it once every
   * included customer's initial notification has reached the SMTP server, and by hand it is
   * refused before then.
   */
  private async checkEveryoneTold(em: EntityManager, incident: Incident): Promise<void> {
    const untold = (await noticeWindows(em, this.dpas, incident)).filter((w) => !w.sentAt);
    if (untold.length) {
      throw new ConflictError(`${untold.length} included customer(s) have not been sent their notification yet`, { customerIds: untold.map((w) => w.customerId) });
    }
  }

  async comment(actor: Actor, id: string, dto: IncidentCommentDto): Promise<IncidentResponse> {
    return this.dataSource.transaction(async (em) => {
      const incident = await loadVisible(em, actor, 'update', INCIDENT_ROW, id, true);
      incident.updatedAt = this.clock.now();
      await em.save(incident);
      await this.event(em, actor, incident, { kind: 'comment', text: dto.text });
      await this.audit.record(em, actor, { action: 'incident.commented', subjectType: 'Incident', subjectId: incident.id });
      return this.respond(em, incident);
    });
  }

  /**
   * Finds the affected customers in the message store: every customer with messages through the
   * incident's sub-processors in its window, with counts (people by keyed hash, nothing decrypted),
   * readable categories and destination countries. Run again when the facts change: counts are
   * replaced, customers no longer found drop out, and the DPO's additions and exclusions stay.
   * An incident without sub-processors and a window cannot be scoped from routing data (409): its
   * customers are added by the DPO.
   */
  async scope(actor: Actor, id: string): Promise<IncidentScopeResponse> {
    return this.dataSource.transaction(async (em) => {
      const incident = await loadVisible(em, actor, 'update', INCIDENT_ROW, id, true);
      if (!scopable(incident)) {
        throw new ConflictError('This incident names no sub-processor or no time window to scope from routing data; the DPO adds its affected customers (PUT /api/v1/incidents/:id/customers/:customerId)');
      }
      await this.rescope(em, actor, incident);
      return this.scopeOf(em, id);
    });
  }

  /**
   * The facts as the investigation learns them (security or DPO, with what was learnt): the fields
   * given replace the old ones, checked like a report. When the sub-processors or the window change,
   * the scope is computed again in the same transaction; a changed awareness moves every deadline,
   * so the audit entry keeps both times. Not once the incident is dismissed or closed.
   */
  async update(actor: Actor, id: string, dto: UpdateIncidentDto): Promise<IncidentResponse> {
    return this.dataSource.transaction(async (em) => {
      const incident = await loadVisible(em, actor, 'update', INCIDENT_ROW, id, true);
      if (incident.status === 'dismissed' || incident.status === 'closed') throw new ConflictError(`A ${incident.status} incident's facts are final`);
      const { reason, ...given } = dto;
      const next: Partial<Incident> = {
        ...(given.title !== undefined ? { title: given.title } : {}),
        ...(given.description !== undefined ? { description: given.description } : {}),
        ...(given.detectedAt !== undefined ? { detectedAt: new Date(given.detectedAt) } : {}),
        ...(given.becameAwareAt !== undefined ? { becameAwareAt: new Date(given.becameAwareAt) } : {}),
        // The optional facts of a report can be cleared again with null.
        ...(given.windowFrom !== undefined ? { windowFrom: given.windowFrom === null ? null : new Date(given.windowFrom) } : {}),
        ...(given.windowTo !== undefined ? { windowTo: given.windowTo === null ? null : new Date(given.windowTo) } : {}),
        ...(given.subprocessorIds !== undefined ? { subprocessorIds: given.subprocessorIds ?? [] } : {}),
        ...(given.internalSystems !== undefined ? { internalSystems: given.internalSystems ?? [] } : {}),
        ...(given.dataCategories !== undefined ? { dataCategories: given.dataCategories } : {}),
        ...(given.nature !== undefined ? { nature: given.nature } : {}),
        ...(given.maliciousIntent !== undefined ? { maliciousIntent: given.maliciousIntent } : {}),
      };
      const changed = (Object.keys(next) as (keyof Incident)[]).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(incident[k]));
      if (!changed.length) throw new ValidationProblem([{ field: 'body', messages: ['give at least one fact that differs from what is recorded'] }]);
      const before = { becameAwareAt: incident.becameAwareAt, subprocessorIds: incident.subprocessorIds, windowFrom: incident.windowFrom, windowTo: incident.windowTo };
      Object.assign(incident, next);
      await this.checkFacts(em, incident, this.clock.now());
      incident.updatedAt = this.clock.now();
      await em.save(incident);
      await this.event(em, actor, incident, { kind: 'facts_changed', text: `${changed.join(', ')}: ${reason}` });
      await this.audit.record(em, actor, {
        action: 'incident.facts_changed', subjectType: 'Incident', subjectId: id,
        changes: {
          fields: changed,
          ...(changed.includes('becameAwareAt') ? { becameAwareAt: { from: before.becameAwareAt, to: incident.becameAwareAt } } : {}),
          ...(changed.includes('subprocessorIds') ? { subprocessorIds: { from: before.subprocessorIds, to: incident.subprocessorIds } } : {}),
          ...(changed.includes('windowFrom') || changed.includes('windowTo')
            ? { window: { from: [before.windowFrom, before.windowTo], to: [incident.windowFrom, incident.windowTo] } } : {}),
        },
      });
      const routing = changed.some((k) => k === 'subprocessorIds' || k === 'windowFrom' || k === 'windowTo');
      if (routing && scopable(incident)) await this.rescope(em, actor, incident);
      return this.respond(em, incident);
    });
  }

  /**
   * Finds the affected customers in the message store for the incident's sub-processors and
   * window: counts are replaced, customers no longer found drop out, the DPO's decisions stay.
   */
  private async rescope(em: EntityManager, actor: Actor, incident: Incident): Promise<void> {
    const id = incident.id;
    const found = await impactScope(em, { subprocessorIds: incident.subprocessorIds, from: incident.windowFrom!, to: incident.windowTo! });
    const now = this.clock.now();
    const before = new Map((await em.find(IncidentCustomer, { where: { incidentId: id } })).map((c) => [c.customerId, c]));
    const foundIds = new Set(found.customers.map((c) => c.customerId));
    const gone = [...before.values()].filter((c) => c.source === 'scope' && !foundIds.has(c.customerId));
    const notified = new Set(((await em.query('SELECT DISTINCT customer_id FROM breach_notifications WHERE incident_id = $1', [id])) as { customer_id: string }[]).map((r) => r.customer_id));
    for (const c of gone) {
      // One that has a notification stays on record, excluded, with its last counts.
      if (notified.has(c.customerId)) {
        await em.update(IncidentCustomer, { incidentId: id, customerId: c.customerId }, { included: false, reason: 'No longer found by scoping after the facts changed; its notification stays on record', updatedAt: now });
      } else {
        await em.delete(IncidentCustomer, { incidentId: id, customerId: c.customerId });
      }
    }
    for (const c of found.customers) {
      const kept = before.get(c.customerId);
      await em.save(IncidentCustomer, {
        incidentId: id, customerId: c.customerId, source: kept?.source ?? 'scope', included: kept?.included ?? true, reason: kept?.reason ?? null,
        severityOverrides: kept?.severityOverrides ?? {},
        messageCount: c.messageCount, distinctSubjects: c.distinctSubjects, readableCategories: c.readableCategories,
        destinationCountries: c.destinationCountries, firstMessageAt: c.firstMessageAt, lastMessageAt: c.lastMessageAt, updatedAt: now,
      });
    }
    incident.updatedAt = now;
    await em.save(incident);
    await this.holdEvidence(em, actor, incident);
    await this.reopenIfUntold(em, actor, incident);
    const summary = `${found.totals.customers} customers, ${found.totals.messageCount} messages, ${found.totals.distinctSubjects} people`;
    await this.event(em, actor, incident, { kind: 'scoped', text: summary });
    await this.audit.record(em, actor, {
      action: 'incident.scoped', subjectType: 'Incident', subjectId: id,
      changes: { customers: found.totals.customers, messageCount: found.totals.messageCount, distinctSubjects: found.totals.distinctSubjects, dropped: gone.length },
    });
  }

  async getScope(actor: Actor, id: string): Promise<IncidentScopeResponse> {
    const em = this.dataSource.manager;
    await loadVisible(em, actor, 'read', INCIDENT_ROW, id);
    return this.scopeOf(em, id);
  }

  /**
   * The DPO adds a customer scoping did not find (an internal-system incident has only these) or
   * excludes one it found, with a reason; both on the timeline and audited.
   */
  async setCustomer(actor: Actor, id: string, customerId: string, dto: IncidentCustomerDto): Promise<IncidentScopeResponse> {
    return this.dataSource.transaction(async (em) => {
      const incident = await loadVisible(em, actor, 'update', INCIDENT_ROW, id, true);
      this.mayTake(actor, 'confirm', dto.included ? 'add a customer to its scope' : 'exclude a customer from its scope');
      const now = this.clock.now();
      const row = isUuid(customerId) ? await em.findOneBy(IncidentCustomer, { incidentId: id, customerId }) : null;
      if (row) {
        await em.update(IncidentCustomer, { incidentId: id, customerId }, { included: dto.included, reason: dto.reason, updatedAt: now });
      } else {
        if (!dto.included) throw new NotFoundError('Affected customer');
        if (!(await this.customers.exists(em, customerId))) throw new ValidationProblem([{ field: 'customerId', messages: ['customerId does not name an existing customer'] }]);
        await em.insert(IncidentCustomer, { incidentId: id, customerId, source: 'dpo', included: true, reason: dto.reason, updatedAt: now });
      }
      incident.updatedAt = now;
      await em.save(incident);
      await this.holdEvidence(em, actor, incident);
      await this.reopenIfUntold(em, actor, incident);
      const kind = dto.included ? 'customer_included' : 'customer_excluded';
      await this.event(em, actor, incident, { kind, text: dto.reason });
      await this.audit.record(em, actor, { action: `incident.${kind}`, subjectType: 'Incident', subjectId: id, changes: { customerId } });
      return this.scopeOf(em, id);
    });
  }

  /**
   * Once a breach is confirmed, its scoped data must survive the purge as evidence: every included
   * customer without an active hold for this incident gets one — on the incident's window, or on
   * all its data when the incident has none — unless the DPO declined the hold. Placed in the
   * caller's transaction (each with its own audit entry), at confirmation and whenever scoping or
   * the DPO adds a customer later. Excluding a customer leaves its hold to be released by hand.
   */
  private async holdEvidence(em: EntityManager, actor: Actor, incident: Incident): Promise<void> {
    if (!HELD_STATUSES.includes(incident.status) || incident.legalHoldDeclinedReason !== null) return;
    const unheld = (await em.query(
      `SELECT c.customer_id FROM incident_customers c
        WHERE c.incident_id = $1 AND c.included
          AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.incident_id = c.incident_id AND h.customer_id = c.customer_id AND h.released_at IS NULL)
        ORDER BY c.customer_id`,
      [incident.id],
    )) as { customer_id: string }[];
    for (const { customer_id: customerId } of unheld) {
      await this.holds.place(em, actor, {
        customerId, from: incident.windowFrom, to: incident.windowTo, incidentId: incident.id,
        reason: `Evidence of the confirmed personal data breach of incident ${incident.id}`,
      });
    }
  }

  /**
   * Every included customer's notification deadline (notice-windows.ts), time left and status;
   * once its initial notification is sent the clock stops at `sent` or `sent_late`.
   */
  async notificationClock(actor: Actor, id: string): Promise<IncidentClockResponse> {
    const em = this.dataSource.manager;
    const incident = await loadVisible(em, actor, 'read', INCIDENT_ROW, id);
    const now = this.clock.now();
    const customers = (await noticeWindows(em, this.dpas, incident)).map((w) => clockEntry(incident, w, now));
    return { becameAwareAt: incident.becameAwareAt.toISOString(), customers };
  }

  private async scopeOf(em: EntityManager, id: string): Promise<IncidentScopeResponse> {
    const rows = await em.find(IncidentCustomer, { where: { incidentId: id }, order: { customerId: 'ASC' } });
    const included = rows.filter((r) => r.included);
    return {
      customers: rows.map(toCustomerResponse),
      totals: {
        customers: included.length,
        messageCount: included.reduce((n, r) => n + r.messageCount, 0),
        distinctSubjects: included.reduce((n, r) => n + r.distinctSubjects, 0),
      },
    };
  }

  private mayTake(actor: Actor, action: Action, to: string): void {
    if (!actor.ability.can(action, 'Incident')) {
      throw new ForbiddenError(action === 'confirm' ? `Only the DPO decides whether there was a breach and whom it affects: to ${to} is the DPO's step` : undefined);
    }
  }

  /** Times in order and not in the future; the sub-processors named exist. Nothing is stored otherwise. */
  private async checkFacts(em: EntityManager, f: { detectedAt: Date; becameAwareAt: Date; windowFrom: Date | null; windowTo: Date | null; subprocessorIds: string[]; internalSystems: string[] }, now: Date): Promise<void> {
    const errors: { field: string; messages: string[] }[] = [];
    const latest = now.getTime() + CLOCK_SKEW_MS;
    if (f.detectedAt.getTime() > latest) errors.push({ field: 'detectedAt', messages: ['detectedAt must not be in the future'] });
    if (f.becameAwareAt.getTime() > latest) errors.push({ field: 'becameAwareAt', messages: ['becameAwareAt must not be in the future'] });
    if (f.becameAwareAt < f.detectedAt) errors.push({ field: 'becameAwareAt', messages: ['becameAwareAt must not be before detectedAt'] });
    if (f.windowFrom && f.windowTo && f.windowFrom >= f.windowTo) errors.push({ field: 'windowTo', messages: ['windowTo must be later than windowFrom'] });
    if (!f.subprocessorIds.length && !f.internalSystems.length) {
      errors.push({ field: 'subprocessorIds', messages: ['name the affected sub-processors (subprocessorIds) and/or internal systems (internalSystems)'] });
    }
    if (f.subprocessorIds.length) {
      const found = (await em.query('SELECT id FROM subprocessors WHERE id = ANY($1::uuid[])', [f.subprocessorIds])) as { id: string }[];
      const unknown = f.subprocessorIds.filter((id) => !found.some((r) => r.id === id));
      if (unknown.length) errors.push({ field: 'subprocessorIds', messages: [`no sub-processor with id ${unknown.join(', ')}`] });
    }
    if (errors.length) throw new ValidationProblem(errors);
  }

  private async event(em: EntityManager, actor: Actor, incident: Incident, e: Omit<TimelineEntry, 'at'>): Promise<void> {
    await addToTimeline(em, actor, incident.id, { at: incident.updatedAt, ...e });
  }


  private async respond(em: EntityManager, incident: Incident): Promise<IncidentResponse> {
    const events = await em.find(IncidentEvent, { where: { incidentId: incident.id }, order: { seq: 'ASC' } });
    return toResponse(incident, events.map(toEventResponse));
  }
}

/** Routing data to scope from: sub-processors and a window. */
const scopable = (i: Incident): boolean => i.subprocessorIds.length > 0 && i.windowFrom !== null && i.windowTo !== null;

function toResponse(i: Incident, timeline?: IncidentEventResponse[]): IncidentResponse {
  return {
    id: i.id, title: i.title, description: i.description, detectedAt: i.detectedAt.toISOString(), becameAwareAt: i.becameAwareAt.toISOString(),
    subprocessorIds: i.subprocessorIds, internalSystems: i.internalSystems,
    windowFrom: i.windowFrom?.toISOString() ?? null, windowTo: i.windowTo?.toISOString() ?? null,
    dataCategories: i.dataCategories, nature: i.nature, maliciousIntent: i.maliciousIntent,
    status: i.status, allowedTransitions: [...INCIDENT_TRANSITIONS[i.status]], legalHoldDeclinedReason: i.legalHoldDeclinedReason,
    reportedBy: i.reportedBy, reportedAt: i.reportedAt.toISOString(), updatedAt: i.updatedAt.toISOString(),
    ...(timeline ? { timeline } : {}),
  };
}

function toCustomerResponse(c: IncidentCustomer): IncidentCustomerResponse {
  return {
    customerId: c.customerId, source: c.source, included: c.included, reason: c.reason, messageCount: c.messageCount,
    distinctSubjects: c.distinctSubjects, readableCategories: c.readableCategories, destinationCountries: c.destinationCountries,
    firstMessageAt: c.firstMessageAt?.toISOString() ?? null, lastMessageAt: c.lastMessageAt?.toISOString() ?? null, updatedAt: c.updatedAt.toISOString(),
  };
}

function toEventResponse(e: IncidentEvent): IncidentEventResponse {
  return {
    id: e.id, at: e.at.toISOString(), kind: e.kind, fromStatus: e.fromStatus, toStatus: e.toStatus, text: e.text, actorId: e.actorId,
    customerId: e.customerId, notificationId: e.notificationId,
  };
}
