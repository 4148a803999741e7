import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { loadVisible } from '../access/load-visible';
import { scopeQuery } from '../access/scoping';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { ConflictError, ForbiddenError, NotFoundError, ValidationProblem, type FieldError } from '../common/errors';
import { decodeCursor, isTimeCursor, Page, toPage } from '../common/pagination';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { CustomersService } from '../customers/customers.service';
import { MailService } from '../notifications/mail.service';
import { acknowledgementLink, AcknowledgementLinks } from './acknowledgement-links';
import { breachNotificationMail, notificationSubject } from './breach-mail.templates';
import { BreachNotification, INITIAL_SECTIONS, type NotificationKind, type NotificationSections, sectionsOf, TO_BE_COMPLETED } from './breach-notification.entity';
import { acknowledgementPage, type AcknowledgementPage } from './acknowledgement-pages';
import { BreachNotificationList, BreachNotificationResponse, DraftNotificationsDto, EditNotificationDto, FollowUpDto, NotificationQuery } from './dto/breach-notification.dto';
import { IncidentCustomer } from './incident-customer.entity';
import { Incident, INCIDENT_ROW } from './incident.entity';
import type { IncidentStatus } from './incident-lifecycle';
import { IncidentSeverityService } from './incident-severity.service';
import { initialDraft } from './notification-draft';
import { actorId, addToTimeline } from './timeline';

const NOTIFICATION = { entity: BreachNotification, subject: 'Notification' as const, name: 'Breach notification' };

/** Notifications are written once the DPO has confirmed the breach, and until the incident is closed. */
const OPEN_FOR_NOTIFICATIONS: readonly IncidentStatus[] = ['confirmed_breach', 'notifying', 'notified'];

type Row = BreachNotification & { mail_status?: string | null; mail_sent_at?: Date | null };

/**
 * Breach notifications (docs/incidents.md): one draft per affected customer with the Art. 33(3)
 * facts, edited by security or the DPO, approved by a DPO who did not write it (four eyes), mailed
 * durably to the customer's breach-notification addresses and nobody else, acknowledged by the
 * customer through the API or the one-click link; follow-ups (Art. 33(4)) take the same path.
 * Customer users see the approved notifications of their own customer, never a draft.
 */
@Injectable()
export class BreachNotificationsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly customers: CustomersService,
    private readonly mail: MailService,
    private readonly severity: IncidentSeverityService,
    private readonly links: AcknowledgementLinks,
  ) {}

  /**
   * Drafts the initial notification of every included customer that has none yet (or of the
   * customers named), generated from the incident, its scope, the severity and our contact point.
   */
  async draft(actor: Actor, incidentId: string, dto: DraftNotificationsDto): Promise<BreachNotificationList> {
    return this.dataSource.transaction(async (em) => {
      const incident = await this.openIncident(em, actor, incidentId);
      const included = await em.find(IncidentCustomer, { where: { incidentId, included: true }, order: { customerId: 'ASC' } });
      if (dto.customerIds) {
        const unknown = dto.customerIds.filter((id) => !included.some((c) => c.customerId === id));
        if (unknown.length) throw new ValidationProblem([{ field: 'customerIds', messages: [`not an included customer of this incident: ${unknown.join(', ')}`] }]);
      }
      const existing = new Map((await em.find(BreachNotification, { where: { incidentId, kind: 'initial' } })).map((n) => [n.customerId, n]));
      const asked = (c: IncidentCustomer) => !dto.customerIds || dto.customerIds.includes(c.customerId);
      const targets = included.filter((c) => asked(c) && (!existing.has(c.customerId) || (dto.redraft && existing.get(c.customerId)!.status === 'draft')));
      if (!targets.length) {
        throw new ConflictError(included.length
          ? 'Every customer asked for already has its notification: edit the draft (or redraft it), or send a follow-up'
          : 'This incident has no affected customers yet: scope it, or the DPO adds them');
      }
      const customers = await this.customers.byIds(em, targets.map((t) => t.customerId));
      const severities = await this.severity.assess(em, incident, targets);
      const subprocessorNames = await this.subprocessorNames(em, incident);
      const now = this.clock.now();
      const ids: string[] = [];
      for (const affected of targets) {
        const generated = initialDraft({
          incident, affected, customer: customers.get(affected.customerId)!, severity: severities.get(affected.customerId)!,
          subprocessorNames, contact: this.config.breach.dpoContact,
        });
        const previous = existing.get(affected.customerId);
        if (previous) {
          const sections = keepWritten(generated, previous.sections);
          await em.update(BreachNotification, { id: previous.id }, { sections, authors: authorsWith(previous.authors, actor), updatedAt: now });
          ids.push(previous.id);
          await addToTimeline(em, actor, incidentId, { kind: 'notification_edited', at: now, customerId: affected.customerId, notificationId: previous.id, text: 'redrafted from the current facts' });
          await this.audit.record(em, actor, { action: 'breach_notification.redrafted', subjectType: 'BreachNotification', subjectId: previous.id, changes: { incidentId, customerId: affected.customerId } });
          continue;
        }
        const { id } = await em.save(em.create(BreachNotification, {
          incidentId, customerId: affected.customerId, kind: 'initial', followUpOf: null, status: 'draft', sections: generated,
          authors: authorsWith([], actor), createdAt: now, updatedAt: now,
        }));
        ids.push(id);
        await addToTimeline(em, actor, incidentId, { kind: 'notification_drafted', at: now, customerId: affected.customerId, notificationId: id });
        await this.audit.record(em, actor, {
          action: 'breach_notification.drafted', subjectType: 'BreachNotification', subjectId: id, changes: { incidentId, customerId: affected.customerId, kind: 'initial' },
        });
      }
      return { items: await this.responses(em, { ids }) };
    });
  }

  /** A follow-up to an approved initial notification (Art. 33(4)): a draft with one part, `update`. */
  async followUp(actor: Actor, initialId: string, dto: FollowUpDto): Promise<BreachNotificationResponse> {
    return this.dataSource.transaction(async (em) => {
      const initial = await loadVisible(em, actor, 'read', NOTIFICATION, initialId);
      if (initial.kind !== 'initial' || initial.status !== 'approved') {
        throw new ConflictError('A follow-up updates an approved initial notification');
      }
      await this.openIncident(em, actor, initial.incidentId);
      const sections = checkSections('follow_up', dto.sections, true);
      const now = this.clock.now();
      const { id } = await em.save(em.create(BreachNotification, {
        incidentId: initial.incidentId, customerId: initial.customerId, kind: 'follow_up', followUpOf: initial.id, status: 'draft', sections,
        authors: authorsWith([], actor), createdAt: now, updatedAt: now,
      }));
      await addToTimeline(em, actor, initial.incidentId, { kind: 'notification_drafted', at: now, customerId: initial.customerId, notificationId: id, text: 'follow-up' });
      await this.audit.record(em, actor, {
        action: 'breach_notification.drafted', subjectType: 'BreachNotification', subjectId: id,
        changes: { incidentId: initial.incidentId, customerId: initial.customerId, kind: 'follow_up', followUpOf: initial.id },
      });
      return (await this.responses(em, { ids: [id] }))[0];
    });
  }

  /** Replaces the parts given, while it is a draft; whoever edits becomes one of its authors. */
  async edit(actor: Actor, id: string, dto: EditNotificationDto): Promise<BreachNotificationResponse> {
    return this.dataSource.transaction(async (em) => {
      const n = await this.loadDraft(em, actor, 'update', id);
      const changes = checkSections(n.kind, dto.sections, false);
      const changed = Object.keys(changes).filter((k) => changes[k as keyof NotificationSections] !== n.sections[k as keyof NotificationSections]);
      const now = this.clock.now();
      await em.update(BreachNotification, { id }, { sections: { ...n.sections, ...changes }, authors: authorsWith(n.authors, actor), updatedAt: now });
      await addToTimeline(em, actor, n.incidentId, {
        kind: 'notification_edited', at: now, customerId: n.customerId, notificationId: id, text: changed.length ? `changed: ${changed.join(', ')}` : 'no change',
      });
      await this.audit.record(em, actor, { action: 'breach_notification.edited', subjectType: 'BreachNotification', subjectId: id, changes: { sections: changed } });
      return (await this.responses(em, { ids: [id] }))[0];
    });
  }

  /**
   * Four eyes: a DPO who neither wrote nor edited the draft approves it, and it is queued for the
   * customer's breach-notification addresses in the same transaction (the durable mail sends it
   * after the commit, retrying while the SMTP server is away). The first approval of an incident
   * moves it from confirmed_breach to notifying.
   */
  async approve(actor: Actor, id: string): Promise<BreachNotificationResponse> {
    return this.dataSource.transaction(async (em) => {
      const n = await this.loadDraft(em, actor, 'approve', id);
      const approver = actorId(actor);
      if (!approver || n.authors.includes(approver)) {
        throw new ForbiddenError('Four eyes: a notification is approved by a DPO who did not write or edit it; ask another DPO');
      }
      const incident = await this.openIncident(em, actor, n.incidentId);
      await this.checkStillIncluded(em, n);
      await this.checkCurrent(em, n);
      const blanks = sectionsOf(n.kind).filter((name) => n.sections[name]?.includes(TO_BE_COMPLETED));
      if (blanks.length) {
        throw new ValidationProblem(blanks.map((name) => ({ field: `sections.${name}`, messages: [`still says ${TO_BE_COMPLETED}: write it before approval`] })));
      }
      const now = this.clock.now();
      const { mailId, recipients } = await this.queueMail(em, n, now);
      await em.update(BreachNotification, { id }, { status: 'approved', approvedBy: approver, approvedAt: now, mailId, recipients, updatedAt: now });
      await addToTimeline(em, actor, n.incidentId, { kind: 'notification_approved', at: now, customerId: n.customerId, notificationId: id });
      await this.audit.record(em, actor, {
        action: 'breach_notification.approved', subjectType: 'BreachNotification', subjectId: id,
        changes: { incidentId: n.incidentId, customerId: n.customerId, kind: n.kind, recipientCount: recipients.length, mailId },
      });
      if (incident.status === 'confirmed_breach') await this.startNotifying(em, actor, incident, now);
      return (await this.responses(em, { ids: [id] }))[0];
    });
  }

  /**
   * When the mail of an approved notification was refused for good (an address that no longer
   * exists, say), the DPO sends it again, as approved, to the customer's breach-notification
   * addresses as they are now — once legal has corrected them. Its deadline kept running meanwhile.
   */
  async resend(actor: Actor, id: string): Promise<BreachNotificationResponse> {
    return this.dataSource.transaction(async (em) => {
      const n = await loadVisible(em, actor, 'approve', NOTIFICATION, id, true);
      const failed = n.mailId ? await em.query(`SELECT 1 FROM mails WHERE id = $1 AND status = 'failed'`, [n.mailId]) as unknown[] : [];
      if (n.status !== 'approved' || !failed.length) throw new ConflictError('Only a notification whose mail failed is sent again; a queued one is still being retried');
      await this.openIncident(em, actor, n.incidentId);
      await this.checkStillIncluded(em, n);
      const now = this.clock.now();
      const { mailId, recipients } = await this.queueMail(em, n, now);
      await em.update(BreachNotification, { id }, { mailId, recipients, updatedAt: now });
      await addToTimeline(em, actor, n.incidentId, { kind: 'notification_resent', at: now, customerId: n.customerId, notificationId: id });
      await this.audit.record(em, actor, {
        action: 'breach_notification.resent', subjectType: 'BreachNotification', subjectId: id,
        changes: { incidentId: n.incidentId, customerId: n.customerId, failedMailId: n.mailId, mailId, recipientCount: recipients.length },
      });
      return (await this.responses(em, { ids: [id] }))[0];
    });
  }

  /** The customer acknowledges through the API (its own, approved notifications only). */
  async acknowledge(actor: Actor, id: string): Promise<BreachNotificationResponse> {
    return this.dataSource.transaction(async (em) => {
      const n = await loadVisible(em, actor, 'acknowledge', NOTIFICATION, id, true);
      if (n.status !== 'approved') throw new NotFoundError(NOTIFICATION.name);
      if (n.acknowledgedAt) throw new ConflictError(`Already acknowledged at ${n.acknowledgedAt.toISOString()}`, { acknowledgedAt: n.acknowledgedAt.toISOString() });
      await this.recordAcknowledgement(em, actor, n, 'api');
      return (await this.responses(em, { ids: [id], staff: isStaff(actor) }))[0];
    });
  }

  /** GET of the one-click link: a page that asks, because mail scanners follow links. Changes nothing. */
  async acknowledgementPrompt(token: string): Promise<AcknowledgementPage> {
    const checked = await this.checkLink(this.dataSource.manager, token, false);
    return 'page' in checked ? checked.page : acknowledgementPage('prompt', checked.notification);
  }

  /** POST of the one-click link: acknowledges; the link works once and until it expires. */
  async acknowledgeByLink(token: string): Promise<AcknowledgementPage> {
    return this.dataSource.transaction(async (em) => {
      const checked = await this.checkLink(em, token, true);
      if ('page' in checked) return checked.page;
      await this.recordAcknowledgement(em, null, checked.notification, 'link');
      return acknowledgementPage('done', checked.notification);
    });
  }

  async list(actor: Actor, query: NotificationQuery): Promise<Page<BreachNotificationResponse>> {
    const before = decodeCursor(query.cursor, isTimeCursor);
    // The page's ids only: responses() reads the rows with their mail's state.
    const qb = this.dataSource.getRepository(BreachNotification).createQueryBuilder('n').select(['n.id', 'n.createdAt']);
    scopeQuery(qb, actor.ability, 'read', 'Notification');
    if (!isStaff(actor)) qb.andWhere(`n.status = 'approved'`); // drafts are the provider's own
    if (query.incidentId) qb.andWhere('n.incidentId = :incidentId', { incidentId: query.incidentId });
    if (query.kind) qb.andWhere('n.kind = :kind', { kind: query.kind });
    if (before) qb.andWhere('(n.createdAt, n.id) < (:at, :id)', { at: before[0], id: before[1] });
    const rows = await qb.orderBy('n.createdAt', 'DESC').addOrderBy('n.id', 'DESC').limit(query.limit + 1).getMany();
    const page = toPage(rows, query.limit, (n) => n.id, (n) => [n.createdAt.toISOString(), n.id]);
    const responses = await this.responses(this.dataSource.manager, { ids: page.items, staff: isStaff(actor) });
    return { ...page, items: responses };
  }

  async get(actor: Actor, id: string): Promise<BreachNotificationResponse> {
    const em = this.dataSource.manager;
    const n = await loadVisible(em, actor, 'read', NOTIFICATION, id);
    if (n.status !== 'approved' && !isStaff(actor)) throw new NotFoundError(NOTIFICATION.name);
    return (await this.responses(em, { ids: [id], staff: isStaff(actor) }))[0];
  }

  /** An incident's notifications for staff (drafts included). */
  async forIncident(actor: Actor, incidentId: string): Promise<BreachNotificationList> {
    const em = this.dataSource.manager;
    await loadVisible(em, actor, 'read', INCIDENT_ROW, incidentId);
    return { items: await this.forReport(em, incidentId, null) };
  }

  /** For the report: all of an incident's notifications, or only one customer's approved ones. */
  async forReport(em: EntityManager, incidentId: string, customerId: string | null): Promise<BreachNotificationResponse[]> {
    return this.responses(em, { incidentId, customerId, staff: customerId === null });
  }

  private async responses(em: EntityManager, where: { ids?: string[]; incidentId?: string; customerId?: string | null; staff?: boolean }): Promise<BreachNotificationResponse[]> {
    if (where.ids && !where.ids.length) return [];
    const qb = em.getRepository(BreachNotification).createQueryBuilder('n')
      .leftJoin('mails', 'm', 'm.id = n.mail_id')
      .addSelect('m.status', 'mail_status').addSelect('m.sent_at', 'mail_sent_at');
    if (where.ids) qb.andWhere('n.id = ANY(:ids)', { ids: where.ids });
    if (where.incidentId) qb.andWhere('n.incidentId = :incidentId', { incidentId: where.incidentId });
    if (where.customerId) qb.andWhere(`n.customerId = :customerId AND n.status = 'approved'`, { customerId: where.customerId });
    const { entities, raw } = await qb.orderBy('n.createdAt', 'ASC').addOrderBy('n.id', 'ASC').getRawAndEntities();
    const byId = new Map(entities.map((n, i) => [n.id, toResponse({ ...n, mail_status: (raw[i] as Row).mail_status, mail_sent_at: (raw[i] as Row).mail_sent_at }, where.staff ?? true)]));
    return where.ids ? where.ids.map((id) => byId.get(id)!).filter(Boolean) : [...byId.values()];
  }

  /** Renders the notification for the customer's breach-notification addresses (and nobody else) and queues it. */
  private async queueMail(em: EntityManager, n: BreachNotification, now: Date): Promise<{ mailId: string; recipients: string[] }> {
    const customer = (await this.customers.byIds(em, [n.customerId])).get(n.customerId)!;
    const recipients = [...customer.breachNotificationEmails];
    if (!recipients.length) throw new ConflictError('The customer has no breach-notification address: legal adds one to the customer first');
    const initial = n.followUpOf ? await em.findOneByOrFail(BreachNotification, { id: n.followUpOf }) : null;
    const link = acknowledgementLink(this.links, this.config.publicBaseUrl, n.id, now, this.config.breach.ackLinkTtlHours);
    const mailId = await this.mail.enqueue(em, breachNotificationMail, {
      kind: n.kind, notificationId: n.id, incidentId: n.incidentId, customerName: customer.legalName, sections: n.sections,
      updatesNotificationOf: initial?.approvedAt ?? null, ackUrl: link.url, ackExpiresAt: link.expiresAt, apiBaseUrl: this.config.publicBaseUrl,
    }, { to: recipients, customerId: n.customerId, about: { type: 'BreachNotification', id: n.id } });
    return { mailId, recipients };
  }

  private async checkStillIncluded(em: EntityManager, n: BreachNotification): Promise<void> {
    if (!(await em.existsBy(IncidentCustomer, { incidentId: n.incidentId, customerId: n.customerId, included: true }))) {
      throw new ConflictError('The DPO has excluded this customer from the incident\'s scope: its notification is not sent');
    }
  }

  /**
   * A draft is written from the facts as they were: once the incident's facts, its scope or this
   * customer's severity changed after the draft was last saved, a person looks at it again (saves
   * it, or asks for a fresh one with `redraft`) before it can be approved.
   */
  private async checkCurrent(em: EntityManager, n: BreachNotification): Promise<void> {
    if (n.kind !== 'initial') return;
    const changes = (await em.query(
      `SELECT DISTINCT kind FROM incident_events
        WHERE incident_id = $1 AND at > $2 AND (kind IN ('facts_changed', 'scoped') OR (kind = 'severity_overridden' AND customer_id = $3))
        ORDER BY kind`,
      [n.incidentId, n.updatedAt, n.customerId],
    )) as { kind: string }[];
    if (changes.length) {
      throw new ConflictError(
        `Since this draft was last saved the incident changed (${changes.map((c) => c.kind.replace('_', ' ')).join(', ')}): review and save it (PATCH), `
        + 'or ask for a fresh draft (POST /api/v1/incidents/:id/notifications with customerIds and redraft: true)',
        { changes: changes.map((c) => c.kind) },
      );
    }
  }

  private async loadDraft(em: EntityManager, actor: Actor, action: 'update' | 'approve', id: string): Promise<BreachNotification> {
    const n = await loadVisible(em, actor, action, NOTIFICATION, id, true);
    if (n.status !== 'draft') throw new ConflictError('This notification is approved and sent as it was; send a follow-up instead');
    return n;
  }

  private async openIncident(em: EntityManager, actor: Actor, id: string): Promise<Incident> {
    const incident = await loadVisible(em, actor, 'read', INCIDENT_ROW, id, true);
    if (!OPEN_FOR_NOTIFICATIONS.includes(incident.status)) {
      throw new ConflictError(`Notifications are written once the DPO has confirmed the breach, until the incident is closed; this one is ${incident.status}`);
    }
    return incident;
  }

  private async startNotifying(em: EntityManager, actor: Actor, incident: Incident, now: Date): Promise<void> {
    const from = incident.status;
    await em.update(Incident, { id: incident.id }, { status: 'notifying', updatedAt: now });
    await addToTimeline(em, actor, incident.id, { kind: 'status_changed', at: now, fromStatus: from, toStatus: 'notifying', text: 'first notification approved' });
    await this.audit.record(em, actor, {
      action: 'incident.status_changed', subjectType: 'Incident', subjectId: incident.id, changes: { status: { from, to: 'notifying' }, automatic: true },
    });
  }

  private async recordAcknowledgement(em: EntityManager, actor: Actor | null, n: BreachNotification, via: 'api' | 'link'): Promise<void> {
    const now = this.clock.now();
    const by = actor ? actorId(actor) : null;
    await em.update(BreachNotification, { id: n.id }, { acknowledgedAt: now, acknowledgedBy: by, acknowledgedVia: via });
    n.acknowledgedAt = now;
    await addToTimeline(em, actor, n.incidentId, { kind: 'notification_acknowledged', at: now, customerId: n.customerId, notificationId: n.id, text: `by ${via}` });
    await this.audit.record(em, actor, {
      action: 'breach_notification.acknowledged', subjectType: 'BreachNotification', subjectId: n.id, changes: { customerId: n.customerId, via },
    });
  }

  /** A link's notification, or the page that says why it does not work (invalid, expired, used). */
  private async checkLink(em: EntityManager, token: string, lock: boolean): Promise<{ notification: BreachNotification } | { page: AcknowledgementPage }> {
    const checked = this.links.check(token, this.clock.now());
    if (!checked.ok) return { page: acknowledgementPage(checked.reason) };
    const n = await em.findOne(BreachNotification, { where: { id: checked.notificationId }, lock: lock ? { mode: 'pessimistic_write' } : undefined });
    if (!n || n.status !== 'approved') return { page: acknowledgementPage('invalid') };
    if (n.acknowledgedAt) return { page: acknowledgementPage('used', n) };
    return { notification: n };
  }

  private async subprocessorNames(em: EntityManager, incident: Incident): Promise<string[]> {
    if (!incident.subprocessorIds.length) return [];
    const rows = (await em.query('SELECT legal_entity FROM subprocessors WHERE id = ANY($1::uuid[]) ORDER BY legal_entity', [incident.subprocessorIds])) as { legal_entity: string }[];
    return rows.map((r) => r.legal_entity);
  }
}

/** The provider's people, who see drafts and who wrote what; a customer's users see what they were sent. */
const isStaff = (actor: Actor) => actor.ability.can('read', 'Incident');

/** A fresh draft keeps what a person wrote where the generator can only leave a blank (the measures, say). */
function keepWritten(generated: NotificationSections, previous: NotificationSections): NotificationSections {
  const out: NotificationSections = { ...generated };
  for (const name of INITIAL_SECTIONS) {
    const mine = previous[name];
    if (out[name]?.includes(TO_BE_COMPLETED) && mine && !mine.includes(TO_BE_COMPLETED)) out[name] = mine;
  }
  return out;
}

const authorsWith = (authors: string[], actor: Actor): string[] => {
  const id = actorId(actor);
  return id && !authors.includes(id) ? [...authors, id] : authors;
};

/** The parts a notification of this kind has; anything else is a 400 naming it. */
function checkSections(kind: NotificationKind, given: NotificationSections, requireAll: boolean): NotificationSections {
  const allowed: readonly string[] = sectionsOf(kind);
  const errors: FieldError[] = [];
  const out: NotificationSections = {};
  for (const [name, text] of Object.entries(given)) {
    if (text === undefined) continue;
    if (!allowed.includes(name)) errors.push({ field: `sections.${name}`, messages: [`a ${kind.replace('_', '-')} notification has only ${allowed.join(', ')}`] });
    else if (!text.trim()) errors.push({ field: `sections.${name}`, messages: [`${name} must not be blank`] });
    else out[name as keyof NotificationSections] = text.trim();
  }
  if (requireAll) for (const name of allowed) if (given[name as keyof NotificationSections] === undefined) errors.push({ field: `sections.${name}`, messages: [`${name} is required`] });
  if (!errors.length && !Object.keys(out).length) errors.push({ field: 'sections', messages: ['give at least one part to change'] });
  if (errors.length) throw new ValidationProblem(errors);
  return out;
}

/** `staff`: who wrote and approved it is the provider's business; a customer's users do not see it. */
function toResponse(n: Row, staff: boolean): BreachNotificationResponse {
  const sentAt = n.sentAt ?? (n.mail_status === 'sent' ? n.mail_sent_at ?? null : null);
  return {
    id: n.id, incidentId: n.incidentId, customerId: n.customerId, kind: n.kind, followUpOf: n.followUpOf, status: n.status,
    delivery: n.status === 'draft' ? 'draft' : (n.mail_status ?? 'queued'),
    subject: notificationSubject(n), sections: n.sections as Record<string, string>, ...(staff ? { authors: n.authors, approvedBy: n.approvedBy } : {}),
    createdAt: n.createdAt.toISOString(), updatedAt: n.updatedAt.toISOString(), approvedAt: n.approvedAt?.toISOString() ?? null,
    recipients: n.recipients, sentAt: sentAt ? new Date(sentAt).toISOString() : null, acknowledgedAt: n.acknowledgedAt?.toISOString() ?? null,
    acknowledgedVia: n.acknowledgedVia, remindersSent: n.remindersSent,
  };
}
