import { subject } from '@casl/ability';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Actor } from '../access/ability';
import { loadVisible } from '../access/load-visible';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { NotFoundError } from '../common/errors';
import { isUuid } from '../common/ids';
import { CustomersService } from '../customers/customers.service';
import { DpasService } from '../dpas/dpas.service';
import { BreachNotificationsService } from './breach-notifications.service';
import type { BreachNotificationResponse } from './dto/breach-notification.dto';
import type {
  CustomerIncidentReportResponse, CustomerReportNotification, IncidentReport, IncidentReportResponse, ReportCustomer, ReportDeadline, ReportSeverity,
} from './dto/incident-report.dto';
import { IncidentCustomer } from './incident-customer.entity';
import { IncidentEscalation } from './incident-escalation.entity';
import { IncidentEvidenceService } from './incident-evidence.service';
import { renderReport } from './incident-report.html';
import { IncidentSeverityService } from './incident-severity.service';
import { Incident, INCIDENT_ROW } from './incident.entity';
import { IncidentsService } from './incidents.service';
import { clockEntry, type CustomerNoticeWindow, noticeWindows } from './notice-windows';
import type { SeverityAssessment } from './severity';


/**
 * GET /incidents/:id/report (issue 5): the incident's record for Art. 33(5) documentation, as JSON
 * or a printable page. Staff who read incidents get all of it; a customer user gets the part about
 * its own customer, and only once it has been sent a notification — before that the incident does
 * not exist for it. Handing the report out is audited with the reads.
 */
@Injectable()
export class IncidentReportService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly customers: CustomersService,
    private readonly dpas: DpasService,
    private readonly evidence: IncidentEvidenceService,
    private readonly incidents: IncidentsService,
    private readonly notifications: BreachNotificationsService,
    private readonly severities: IncidentSeverityService,
  ) {}

  async report(actor: Actor, id: string): Promise<IncidentReport> {
    return actor.role === 'customer' ? this.customerPart(actor, id) : this.fullRecord(actor, id);
  }

  async html(actor: Actor, id: string): Promise<string> {
    return renderReport(await this.report(actor, id));
  }

  private async fullRecord(actor: Actor, id: string): Promise<IncidentReportResponse> {
    // The incident's own answers, read first (each checks the row; 404 for one the actor may not read).
    const { timeline = [], ...facts } = await this.incidents.get(actor, id);
    const scope = await this.incidents.getScope(actor, id);
    return this.dataSource.transaction(async (em) => {
      const incident = await loadVisible(em, actor, 'read', INCIDENT_ROW, id);
      const generatedAt = this.clock.now();
      const rows = await em.find(IncidentCustomer, { where: { incidentId: id }, order: { customerId: 'ASC' } });
      const included = rows.filter((r) => r.included);
      const windows = await noticeWindows(em, this.dpas, incident);
      const severities = await this.severities.assess(em, incident, included);
      const escalations = await em.find(IncidentEscalation, { where: { incidentId: id }, order: { at: 'ASC', escalation: 'ASC' } });
      const notifications = await this.notifications.forReport(em, id, null);
      const evidence = await this.evidence.listFor(em, id);
      const customerIds = [...new Set([...rows.map((r) => r.customerId), ...notifications.map((n) => n.customerId)])];
      const names = await this.customers.byIds(em, customerIds);
      const customers = customerIds.map((customerId): ReportCustomer => {
        const window = windows.find((w) => w.customerId === customerId);
        return {
          customerId, legalName: names.get(customerId)?.legalName ?? null, included: included.some((r) => r.customerId === customerId),
          deadline: window ? toDeadline(incident, window, generatedAt) : null,
          severity: toSeverity(severities.get(customerId)),
          escalations: escalations.filter((e) => e.customerId === customerId).map((e) => ({ escalation: e.escalation, at: e.at.toISOString() })),
          notifications: notifications.filter((n) => n.customerId === customerId),
        };
      });
      await this.audit.record(em, actor, { action: 'incident.report_read', subjectType: 'Incident', subjectId: id, changes: { part: 'full' } });
      return { part: 'full', generatedAt: generatedAt.toISOString(), incident: facts, scope, customers, timeline, evidence };
    });
  }

  /**
   * A customer user's part: the incident's outline and what concerns its own customer. Until its
   * customer has an approved notification, the incident answers exactly like a missing one.
   */
  private async customerPart(actor: Actor, id: string): Promise<CustomerIncidentReportResponse> {
    const customerId = actor.customerId;
    return this.dataSource.transaction(async (em) => {
      const incident = customerId && isUuid(id) ? await em.findOneBy(Incident, { id }) : null;
      const notifications = incident && customerId
        ? (await this.notifications.forReport(em, id, customerId))
          .filter((n) => n.status === 'approved' && actor.ability.can('read', subject('Notification', { ...n })))
        : [];
      if (!incident || !customerId || !notifications.length) throw new NotFoundError(INCIDENT_ROW.name);
      const generatedAt = this.clock.now();
      const row = await em.findOneBy(IncidentCustomer, { incidentId: id, customerId, included: true });
      const window = row ? (await noticeWindows(em, this.dpas, incident)).find((w) => w.customerId === customerId) : undefined;
      const severity = row ? (await this.severities.assess(em, incident, [row])).get(customerId) : undefined;
      const customer = (await this.customers.byIds(em, [customerId])).get(customerId);
      await this.audit.record(em, actor, { action: 'incident.report_read', subjectType: 'Incident', subjectId: id, changes: { part: 'customer' } });
      return {
        part: 'customer', generatedAt: generatedAt.toISOString(),
        incident: {
          id: incident.id, title: incident.title, nature: incident.nature, dataCategories: incident.dataCategories,
          detectedAt: incident.detectedAt.toISOString(), becameAwareAt: incident.becameAwareAt.toISOString(),
          windowFrom: incident.windowFrom?.toISOString() ?? null, windowTo: incident.windowTo?.toISOString() ?? null, status: incident.status,
        },
        customerId, legalName: customer?.legalName ?? null,
        scope: row
          ? { messageCount: row.messageCount, distinctSubjects: row.distinctSubjects, readableCategories: row.readableCategories, destinationCountries: row.destinationCountries }
          : null,
        severity: toSeverity(severity),
        deadline: window ? toDeadline(incident, window, generatedAt) : null,
        notifications: notifications.map(asReceived),
      };
    });
  }
}

function toDeadline(incident: Incident, w: CustomerNoticeWindow, now: Date): ReportDeadline {
  const { breachNoticeHours, hoursFrom, deadline, timeLeftMs, elapsedFraction, status } = clockEntry(incident, w, now);
  return { breachNoticeHours, hoursFrom, deadline, timeLeftMs, elapsedFraction, status };
}

const toSeverity = (s: SeverityAssessment | undefined): ReportSeverity | null =>
  s ? { dpc: s.dpc, ei: s.ei, cb: s.cb, score: s.score, level: s.level, explanation: s.explanation } : null;

/** Who wrote and who approved a notification is the provider's business. */
function asReceived(n: BreachNotificationResponse): CustomerReportNotification {
  const { authors: _authors, approvedBy: _approvedBy, ...received } = n;
  return received;
}
