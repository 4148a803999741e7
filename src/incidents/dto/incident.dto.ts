import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import {
  ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsBoolean, IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength, ValidateNested,
} from 'class-validator';
import { Type } from 'class-transformer';
import { PageQuery } from '../../common/pagination';
import { IsTimestamp } from '../../common/validation';
import { DATA_CATEGORIES, type DataCategory } from '../../dpas/dpa.entity';
import { DEADLINE_STATUSES } from '../deadlines';
import { INCIDENT_EVENT_KINDS } from '../incident-event.entity';
import { INCIDENT_NATURES, type IncidentNature } from '../incident.entity';
import { INCIDENT_STATUSES, type IncidentStatus } from '../incident-lifecycle';

export class ReportIncidentDto {
  @ApiProperty({ minLength: 3, maxLength: 200 })
  @IsString()
  @MinLength(3)
  @MaxLength(200)
  title: string;

  @ApiProperty({ maxLength: 20000 })
  @IsString()
  @MinLength(1)
  @MaxLength(20000)
  description: string;

  @ApiProperty({ format: 'date-time', description: 'when the incident was detected' })
  @IsTimestamp()
  detectedAt: string;

  @ApiProperty({ format: 'date-time', description: 'when the provider became aware of it: the notification deadlines count from here; not before detectedAt' })
  @IsTimestamp()
  becameAwareAt: string;

  @ApiPropertyOptional({ type: [String], description: 'the sub-processors the incident happened at' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  subprocessorIds?: string[];

  @ApiPropertyOptional({ type: [String], description: 'internal systems affected (names, e.g. "sms-gateway")' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(/^[A-Za-z0-9][A-Za-z0-9 ._\-/]{0,99}$/, { each: true, message: 'each internal system must be a name of up to 100 letters, digits, spaces and . _ - /' })
  internalSystems?: string[];

  @ApiPropertyOptional({ format: 'date-time', description: 'start of the exposed time window (message submitted-at)' })
  @IsOptional()
  @IsTimestamp()
  windowFrom?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'end of the exposed time window (exclusive)' })
  @IsOptional()
  @IsTimestamp()
  windowTo?: string;

  @ApiProperty({ enum: DATA_CATEGORIES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(DATA_CATEGORIES, { each: true })
  dataCategories: DataCategory[];

  @ApiProperty({ enum: INCIDENT_NATURES, isArray: true, description: 'loss of confidentiality, integrity and/or availability' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(INCIDENT_NATURES, { each: true })
  nature: IncidentNature[];

  @ApiProperty()
  @IsBoolean()
  maliciousIntent: boolean;
}

/** New facts as the investigation learns them; the fields given replace the old ones. */
// skipNullProperties: false — a null is validated (and refused) like any other value, never taken as "left out".
export class UpdateIncidentDto extends PartialType(ReportIncidentDto, { skipNullProperties: false }) {
  @ApiProperty({ minLength: 10, maxLength: 2000, description: 'what was learnt; on the timeline' })
  @IsString()
  @MinLength(10)
  @MaxLength(2000)
  reason: string;
}

export class ConfirmationHoldDto {
  @ApiProperty({ minLength: 10, maxLength: 2000, description: 'why the scoped data needs no legal hold' })
  @IsString()
  @MinLength(10)
  @MaxLength(2000)
  reason: string;
}

export class TransitionIncidentDto {
  @ApiProperty({ enum: INCIDENT_STATUSES })
  @IsIn(INCIDENT_STATUSES)
  to: IncidentStatus;

  @ApiPropertyOptional({ minLength: 10, maxLength: 2000, description: 'why; required to dismiss' })
  @IsOptional()
  @IsString()
  @MinLength(10)
  @MaxLength(2000)
  reason?: string;

  @ApiPropertyOptional({ type: () => ConfirmationHoldDto, description: 'only when confirming a breach: decline the legal hold on its scoped data, with a reason' })
  @IsOptional()
  @ValidateNested()
  @Type(() => ConfirmationHoldDto)
  declineLegalHold?: ConfirmationHoldDto;
}

export class IncidentCommentDto {
  @ApiProperty({ minLength: 1, maxLength: 10000 })
  @IsString()
  @MinLength(1)
  @MaxLength(10000)
  text: string;
}

export class IncidentQuery extends PageQuery {
  @ApiPropertyOptional({ enum: INCIDENT_STATUSES })
  @IsOptional()
  @IsIn(INCIDENT_STATUSES)
  status?: IncidentStatus;
}

export class IncidentEventResponse {
  id: string;
  at: string;
  @ApiProperty({ enum: INCIDENT_EVENT_KINDS })
  kind: string;
  fromStatus: string | null;
  toStatus: string | null;
  text: string | null;
  /** The user who acted; null for scheduled work and the customer's one-click link. */
  actorId: string | null;
  /** The customer the entry is about, if one. */
  customerId: string | null;
  notificationId: string | null;
}

export class IncidentResponse {
  id: string;
  title: string;
  description: string;
  detectedAt: string;
  becameAwareAt: string;
  @ApiProperty({ type: [String] })
  subprocessorIds: string[];
  @ApiProperty({ type: [String] })
  internalSystems: string[];
  windowFrom: string | null;
  windowTo: string | null;
  @ApiProperty({ enum: DATA_CATEGORIES, isArray: true })
  dataCategories: DataCategory[];
  @ApiProperty({ enum: INCIDENT_NATURES, isArray: true })
  nature: IncidentNature[];
  maliciousIntent: boolean;
  @ApiProperty({ enum: INCIDENT_STATUSES })
  status: IncidentStatus;
  /** The statuses this incident may move to next. */
  @ApiProperty({ enum: INCIDENT_STATUSES, isArray: true })
  allowedTransitions: IncidentStatus[];
  /** Why the DPO declined the legal hold on the scoped data of the confirmed breach; null when placed or not confirmed. */
  legalHoldDeclinedReason: string | null;
  reportedBy: string | null;
  reportedAt: string;
  updatedAt: string;
  /** Only on GET /incidents/:id and the answers of its changes: every step and comment, oldest first. */
  @ApiPropertyOptional({ type: [IncidentEventResponse] })
  timeline?: IncidentEventResponse[];
}

export class IncidentPage {
  @ApiProperty({ type: [IncidentResponse] })
  items: IncidentResponse[];
  nextCursor: string | null;
}

export class IncidentCustomerDto {
  @ApiProperty({ description: 'true: the customer is affected (added if scoping did not find it); false: it is not (excluded)' })
  @IsBoolean()
  included: boolean;

  @ApiProperty({ minLength: 10, maxLength: 2000 })
  @IsString()
  @MinLength(10)
  @MaxLength(2000)
  reason: string;
}

export class IncidentCustomerResponse {
  customerId: string;
  @ApiProperty({ enum: ['scope', 'dpo'] })
  source: 'scope' | 'dpo';
  included: boolean;
  reason: string | null;
  messageCount: number;
  /** Distinct phone numbers, counted by their keyed hash: nothing is decrypted. */
  distinctSubjects: number;
  @ApiProperty({ type: [String] })
  readableCategories: string[];
  @ApiProperty({ type: [String] })
  destinationCountries: string[];
  firstMessageAt: string | null;
  lastMessageAt: string | null;
  updatedAt: string;
}

export class IncidentClockEntry {
  customerId: string;
  /** The breach-notice hours of the DPA in force when the provider became aware, or 24 without one. */
  breachNoticeHours: number;
  @ApiProperty({ enum: ['dpa', 'default'] })
  hoursFrom: 'dpa' | 'default';
  deadline: string;
  /** Negative once the deadline has passed; once sent, the margin it was sent with. */
  timeLeftMs: number;
  /** Share of the window gone (above 1 after the deadline). */
  elapsedFraction: number;
  @ApiProperty({ enum: DEADLINE_STATUSES })
  status: string;
  /** The initial notification to this customer, once drafted. */
  notificationId: string | null;
  /** When its mail reached the SMTP server; approval alone only queues it. */
  sentAt: string | null;
  acknowledgedAt: string | null;
}

export class IncidentClockResponse {
  becameAwareAt: string;
  /** Every included customer, the earliest deadline first. */
  @ApiProperty({ type: [IncidentClockEntry] })
  customers: IncidentClockEntry[];
}

export class IncidentScopeResponse {
  @ApiProperty({ type: [IncidentCustomerResponse] })
  customers: IncidentCustomerResponse[];
  /** Over the included customers. */
  totals: { customers: number; messageCount: number; distinctSubjects: number };
}
