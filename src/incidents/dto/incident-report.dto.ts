import { ApiProperty, ApiPropertyOptional, OmitType, PickType } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { DATA_CATEGORIES, type DataCategory } from '../../dpas/dpa.entity';
import { ESCALATIONS } from '../deadlines';
import { INCIDENT_STATUSES, type IncidentStatus } from '../incident-lifecycle';
import { INCIDENT_NATURES, type IncidentNature } from '../incident.entity';
import { BreachNotificationResponse } from './breach-notification.dto';
import { IncidentClockEntry, IncidentEventResponse, IncidentResponse, IncidentScopeResponse } from './incident.dto';
import { IncidentEvidenceResponse } from './incident-evidence.dto';
import { CustomerSeverityResponse } from './severity.dto';

export const REPORT_FORMATS = ['json', 'html'] as const;

export class IncidentReportQuery {
  /** html, or json (the default); `Accept: text/html` works too. */
  @ApiPropertyOptional({ enum: REPORT_FORMATS })
  @IsOptional()
  @IsIn(REPORT_FORMATS)
  format?: (typeof REPORT_FORMATS)[number];
}

/** One customer's notification deadline as the report was generated (as on GET /incidents/:id/clock). */
export class ReportDeadline extends PickType(IncidentClockEntry, ['breachNoticeHours', 'hoursFrom', 'deadline', 'timeLeftMs', 'elapsedFraction', 'status'] as const) {}

export class ReportSeverity extends OmitType(CustomerSeverityResponse, ['customerId'] as const) {}

export class ReportEscalation {
  @ApiProperty({ enum: ESCALATIONS })
  escalation: string;
  at: string;
}

/** Everything about one customer: every included customer, and any other that was sent a notification. */
export class ReportCustomer {
  customerId: string;
  /** null if the customer no longer exists. */
  legalName: string | null;
  /** Whether it counts as affected now (see scope for the source and any reason). */
  included: boolean;
  /** null for a customer that is not included. */
  @ApiProperty({ type: ReportDeadline, nullable: true })
  deadline: ReportDeadline | null;
  @ApiProperty({ type: ReportSeverity, nullable: true })
  severity: ReportSeverity | null;
  /** The escalations recorded for its deadline, in order. */
  @ApiProperty({ type: [ReportEscalation] })
  escalations: ReportEscalation[];
  /** Its initial notification and follow-ups, drafts included, oldest first. */
  @ApiProperty({ type: [BreachNotificationResponse] })
  notifications: BreachNotificationResponse[];
}

/** The whole record, for staff who read incidents. */
export class IncidentReportResponse {
  @ApiProperty({ enum: ['full'] })
  part: 'full';
  generatedAt: string;
  /** As GET /incidents/:id answers, without the timeline (it is below). */
  @ApiProperty({ type: IncidentResponse })
  incident: Omit<IncidentResponse, 'timeline'>;
  /** As GET /incidents/:id/scope answers. */
  @ApiProperty({ type: IncidentScopeResponse })
  scope: IncidentScopeResponse;
  @ApiProperty({ type: [ReportCustomer] })
  customers: ReportCustomer[];
  /** Every entry, oldest first. */
  @ApiProperty({ type: [IncidentEventResponse] })
  timeline: IncidentEventResponse[];
  @ApiProperty({ type: [IncidentEvidenceResponse] })
  evidence: IncidentEvidenceResponse[];
}

/** What a customer learns of the incident: the facts that concern it, none of the provider's internals. */
export class CustomerReportIncident {
  id: string;
  title: string;
  @ApiProperty({ enum: INCIDENT_NATURES, isArray: true })
  nature: IncidentNature[];
  @ApiProperty({ enum: DATA_CATEGORIES, isArray: true })
  dataCategories: DataCategory[];
  detectedAt: string;
  becameAwareAt: string;
  windowFrom: string | null;
  windowTo: string | null;
  @ApiProperty({ enum: INCIDENT_STATUSES })
  status: IncidentStatus;
}

export class CustomerReportScope {
  messageCount: number;
  /** Distinct phone numbers, counted by their keyed hash. */
  distinctSubjects: number;
  @ApiProperty({ type: [String] })
  readableCategories: string[];
  @ApiProperty({ type: [String] })
  destinationCountries: string[];
}

/** A notification as the customer received it: without who wrote or approved it. */
export type CustomerReportNotification = Omit<BreachNotificationResponse, 'authors' | 'approvedBy'>;

/** A customer user's part: its own scope, severity, deadline and approved notifications. */
export class CustomerIncidentReportResponse {
  @ApiProperty({ enum: ['customer'] })
  part: 'customer';
  generatedAt: string;
  @ApiProperty({ type: CustomerReportIncident })
  incident: CustomerReportIncident;
  customerId: string;
  legalName: string | null;
  /** null when it is no longer counted as affected. */
  @ApiProperty({ type: CustomerReportScope, nullable: true })
  scope: CustomerReportScope | null;
  @ApiProperty({ type: ReportSeverity, nullable: true })
  severity: ReportSeverity | null;
  @ApiProperty({ type: ReportDeadline, nullable: true })
  deadline: ReportDeadline | null;
  /** Its approved notification and follow-ups, oldest first; without `authors` and `approvedBy`. */
  @ApiProperty({ type: [BreachNotificationResponse] })
  notifications: CustomerReportNotification[];
}

export type IncidentReport = IncidentReportResponse | CustomerIncidentReportResponse;
