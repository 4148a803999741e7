import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize, ArrayNotEmpty, ArrayUnique, IsArray, IsBoolean, IsIn, IsISO31661Alpha2, IsISO8601, IsOptional, IsString,
  Matches, MaxLength, MinLength, ValidateIf, ValidateNested,
} from 'class-validator';
import { IsTimestamp } from '../../common/validation';
import { PageQuery } from '../../common/pagination';
import { DATA_CATEGORIES, type DataCategory, TRANSFER_MECHANISMS, type TransferMechanism } from '../../dpas/dpa.entity';
import { SUBPROCESSOR_ROLES, SUBPROCESSOR_STATUSES, type SubprocessorRole, type SubprocessorStatus } from '../subprocessor.entity';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

export class CertificationDto {
  @ApiProperty({ example: 'ISO/IEC 27001' })
  @IsString()
  @MinLength(1)
  @MaxLength(120)
  name: string;

  @ApiProperty({ example: '2027-03-31', description: 'YYYY-MM-DD' })
  @Matches(DATE_ONLY, { message: 'expiresAt must be a date, YYYY-MM-DD' })
  @IsISO8601({ strict: true })
  expiresAt: string;
}

export class CreateSubprocessorDto {
  @ApiProperty({ example: 'Example Telecom GmbH' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  legalEntity: string;

  @ApiPropertyOptional({ nullable: true, description: 'who owns it; a change is a material change' })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  parentCompany?: string | null;

  @ApiProperty({ example: 'DE', description: 'ISO 3166-1 alpha-2 of where it processes' })
  @IsISO31661Alpha2()
  country: string;

  @ApiProperty({ enum: SUBPROCESSOR_ROLES })
  @IsIn(SUBPROCESSOR_ROLES)
  role: SubprocessorRole;

  @ApiProperty({ example: ['SMS termination'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(120, { each: true })
  services: string[];

  @ApiProperty({ example: 'Delivers SMS to subscribers of its network' })
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  purpose: string;

  @ApiProperty({ enum: DATA_CATEGORIES, isArray: true })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(DATA_CATEGORIES, { each: true })
  dataCategories: DataCategory[];

  @ApiPropertyOptional({ example: ['DE', 'AT'], description: 'countries whose traffic it carries; empty when global' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(250)
  @ArrayUnique()
  @IsISO31661Alpha2({ each: true })
  carriesCountries?: string[];

  @ApiPropertyOptional({ default: false, description: 'carries traffic to every country' })
  @IsOptional()
  @IsBoolean()
  global?: boolean;

  @ApiProperty({ enum: TRANSFER_MECHANISMS, description: 'none is refused outside the EU/EEA without an adequacy decision' })
  @IsIn(TRANSFER_MECHANISMS)
  transferMechanism: TransferMechanism;

  @ApiPropertyOptional({ type: [CertificationDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => CertificationDto)
  certifications?: CertificationDto[];

  @ApiPropertyOptional({ nullable: true, example: '2025-11-02', description: 'YYYY-MM-DD' })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @Matches(DATE_ONLY, { message: 'lastSecurityReview must be a date, YYYY-MM-DD' })
  @IsISO8601({ strict: true })
  lastSecurityReview?: string | null;
}

/**
 * Any registry field. On a sub-processor in service (active or suspended), material changes
 * (country, ownership, services, data categories, wider coverage) are announced by a change notice
 * and applied when it takes effect; `reason` is then required and goes to the customers.
 */
// null is refused for the fields that cannot be empty (IsOptional would let it through).
export class UpdateSubprocessorDto {
  @ValidateIf((_, v) => v !== undefined) @IsString() @MinLength(1) @MaxLength(200)
  legalEntity?: string;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional() @ValidateIf((_, v) => v !== null) @IsString() @MinLength(1) @MaxLength(200)
  parentCompany?: string | null;

  @ValidateIf((_, v) => v !== undefined) @IsISO31661Alpha2()
  country?: string;

  @ApiPropertyOptional({ enum: SUBPROCESSOR_ROLES })
  @ValidateIf((_, v) => v !== undefined) @IsIn(SUBPROCESSOR_ROLES)
  role?: SubprocessorRole;

  @ValidateIf((_, v) => v !== undefined) @IsArray() @ArrayNotEmpty() @ArrayMaxSize(50) @ArrayUnique() @IsString({ each: true }) @MinLength(1, { each: true }) @MaxLength(120, { each: true })
  services?: string[];

  @ValidateIf((_, v) => v !== undefined) @IsString() @MinLength(1) @MaxLength(1000)
  purpose?: string;

  @ApiPropertyOptional({ enum: DATA_CATEGORIES, isArray: true })
  @ValidateIf((_, v) => v !== undefined) @IsArray() @ArrayNotEmpty() @ArrayUnique() @IsIn(DATA_CATEGORIES, { each: true })
  dataCategories?: DataCategory[];

  @ValidateIf((_, v) => v !== undefined) @IsArray() @ArrayMaxSize(250) @ArrayUnique() @IsISO31661Alpha2({ each: true })
  carriesCountries?: string[];

  @ValidateIf((_, v) => v !== undefined) @IsBoolean()
  global?: boolean;

  @ApiPropertyOptional({ enum: TRANSFER_MECHANISMS })
  @ValidateIf((_, v) => v !== undefined) @IsIn(TRANSFER_MECHANISMS)
  transferMechanism?: TransferMechanism;

  @ApiPropertyOptional({ type: [CertificationDto] })
  @ValidateIf((_, v) => v !== undefined) @IsArray() @ArrayMaxSize(50) @ValidateNested({ each: true }) @Type(() => CertificationDto)
  certifications?: CertificationDto[];

  @ApiPropertyOptional({ nullable: true })
  @IsOptional() @ValidateIf((_, v) => v !== null) @Matches(DATE_ONLY, { message: 'lastSecurityReview must be a date, YYYY-MM-DD' }) @IsISO8601({ strict: true })
  lastSecurityReview?: string | null;

  @ApiPropertyOptional({ description: 'why; required when the change needs a change notice' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(2000)
  reason?: string;
}

export class TransitionDto {
  @ApiProperty({ enum: SUBPROCESSOR_STATUSES })
  @IsIn(SUBPROCESSOR_STATUSES)
  to: SubprocessorStatus;

  @IsOptional() @IsString() @MinLength(1) @MaxLength(2000)
  reason?: string;
}

export class ProposeChangeDto {
  @ApiProperty({ description: 'why the change is made, in words for the customers' })
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  reason: string;
}

export class SubprocessorQuery extends PageQuery {
  @ApiPropertyOptional({ enum: SUBPROCESSOR_STATUSES })
  @IsOptional()
  @IsIn(SUBPROCESSOR_STATUSES)
  status?: SubprocessorStatus;
}

export class PendingNoticeRef {
  id: string;
  @ApiProperty({ enum: ['new_subprocessor', 'material_change'] })
  kind: string;
  effectiveAt: string;
  changes: Record<string, { from: unknown; to: unknown }>;
}

export class SubprocessorResponse {
  id: string;
  legalEntity: string;
  parentCompany: string | null;
  country: string;
  @ApiProperty({ enum: SUBPROCESSOR_ROLES })
  role: string;
  services: string[];
  purpose: string;
  @ApiProperty({ enum: DATA_CATEGORIES, isArray: true })
  dataCategories: string[];
  carriesCountries: string[];
  global: boolean;
  @ApiProperty({ enum: TRANSFER_MECHANISMS })
  transferMechanism: string;
  @ApiProperty({ type: [CertificationDto] })
  certifications: CertificationDto[];
  lastSecurityReview: string | null;
  @ApiProperty({ enum: SUBPROCESSOR_STATUSES })
  status: string;
  activeSince: string | null;
  @ApiProperty({ type: PendingNoticeRef, nullable: true, description: 'the change notice waiting to take effect, if any' })
  pendingChangeNotice: PendingNoticeRef | null;
  createdAt: string;
  updatedAt: string;
}

export class SubprocessorPage {
  @ApiProperty({ type: [SubprocessorResponse] })
  items: SubprocessorResponse[];
  nextCursor: string | null;
}

export class HistoryEntryResponse {
  seq: number;
  at: string;
  @ApiProperty({ enum: ['user', 'api_key', 'system'] })
  actorType: string;
  actorId: string | null;
  action: string;
  changes: Record<string, unknown>;
  requestId: string | null;
}

export class HistoryPage {
  @ApiProperty({ type: [HistoryEntryResponse] })
  items: HistoryEntryResponse[];
  nextCursor: string | null;
}

export class AuthorisedQuery {
  @ApiPropertyOptional({ description: 'ISO-8601 moment; default now' })
  @IsOptional()
  @IsTimestamp()
  at?: string;
}

export class AuthorisedSubprocessor {
  id: string;
  legalEntity: string;
  country: string;
  @ApiProperty({ enum: SUBPROCESSOR_ROLES })
  role: string;
  services: string[];
  @ApiProperty({ enum: TRANSFER_MECHANISMS })
  transferMechanism: string;
}

export class WithheldSubprocessor extends AuthorisedSubprocessor {
  @ApiProperty({ enum: ['objection', 'approval_required', 'transfer_not_allowed'], description: 'why it may not carry this customer\'s data' })
  reason: string;
}

export class AuthorisedSubprocessorsResponse {
  customerId: string;
  at: string;
  @ApiProperty({ nullable: true, type: String, description: 'the DPA in force at that moment; none means nothing is authorised' })
  dpaId: string | null;
  @ApiProperty({ nullable: true, enum: ['general', 'specific'] })
  authorisation: string | null;
  @ApiProperty({ type: [AuthorisedSubprocessor] })
  subprocessors: AuthorisedSubprocessor[];
  @ApiProperty({ type: [WithheldSubprocessor], description: 'active and carrying its countries, but not authorised for it' })
  withheld: WithheldSubprocessor[];
}
