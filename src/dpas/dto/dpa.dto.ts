import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsInt, IsNotEmpty, IsObject, IsOptional, IsString, Matches, Max,
  MaxLength, Min, ValidateIf, ValidateNested,
} from 'class-validator';
import { PageQuery } from '../../common/pagination';
import {
  AUTHORISATIONS, type Authorisation, DATA_CATEGORIES, type DataCategory, DPA_STATUSES, type DpaStatus, TRANSFER_MECHANISMS,
  type TransferMechanism,
} from '../dpa.entity';
import { IsTimestamp } from '../../common/validation';

const trimEach = ({ value }: { value: unknown }) => (Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v.trim() : v)) : value);
const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
/** May be left out, but not sent as null (unlike @IsOptional): these columns always have a value. */
const Omittable = () => ValidateIf((_, value) => value !== undefined);

/** Longest retention the customer allows, in days, for every category of message data. */
export class MaxRetentionDaysDto {
  @IsInt()
  @Min(1)
  @Max(3650)
  body: number;

  @IsInt()
  @Min(1)
  @Max(3650)
  msisdn: number;

  @IsInt()
  @Min(1)
  @Max(3650)
  delivery_metadata: number;
}

export class CreateDpaDto {
  @ApiPropertyOptional({ default: 24, description: 'hours within which the customer must hear of a personal data breach' })
  @Omittable()
  @IsInt()
  @Min(1)
  @Max(720)
  breachNoticeHours?: number;

  @ApiPropertyOptional({ default: 30, description: 'days the customer has to object to a sub-processor change (Art. 28(2))' })
  @Omittable()
  @IsInt()
  @Min(1)
  @Max(365)
  objectionWindowDays?: number;

  @ApiPropertyOptional({ enum: AUTHORISATIONS, default: 'general' })
  @Omittable()
  @IsIn(AUTHORISATIONS)
  authorisation?: Authorisation;

  @IsObject()
  @ValidateNested()
  @Type(() => MaxRetentionDaysDto)
  maxRetentionDays: MaxRetentionDaysDto;

  @ApiProperty({ enum: TRANSFER_MECHANISMS, isArray: true, description: 'safeguards allowed for transfers to third countries' })
  @IsArray()
  @ArrayMaxSize(TRANSFER_MECHANISMS.length)
  @ArrayUnique()
  @IsIn(TRANSFER_MECHANISMS, { each: true })
  transferMechanisms: TransferMechanism[];

  @ApiProperty({ enum: DATA_CATEGORIES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(DATA_CATEGORIES, { each: true })
  dataCategories: DataCategory[];

  @ApiProperty({ type: [String], example: ['delivery of transactional SMS'] })
  @Transform(trimEach)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(500, { each: true })
  purposes: string[];

  @ApiPropertyOptional({ nullable: true, format: 'date-time', description: 'when the agreement ends unless renewed' })
  @IsOptional()
  @IsTimestamp()
  expiresAt?: string | null;
}

/** Terms change only while the DPA is a draft or in review. */
export class UpdateDpaDto extends PartialType(CreateDpaDto, { skipNullProperties: false }) {
  @ApiPropertyOptional({ nullable: true, format: 'date-time' })
  @ValidateIf((_, v) => v !== undefined && v !== null)
  @IsTimestamp()
  override expiresAt?: string | null;
}

export class DpaTransitionDto {
  @ApiProperty({ enum: DPA_STATUSES })
  @IsIn(DPA_STATUSES)
  to: DpaStatus;

  @ApiPropertyOptional({ description: 'to signed only: the customer-side signatory, as written in the document' })
  @Omittable()
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  signedByName?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'to signed only: when it was signed (default: now)' })
  @Omittable()
  @IsTimestamp()
  signedAt?: string;
}

export class DpaListQuery extends PageQuery {}

export class DocumentUploadQuery {
  @ApiPropertyOptional({ description: 'the file name to keep (else from Content-Disposition)' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  // Printable, no path separators: it ends up in a Content-Disposition header.
  @Matches(/^[^\x00-\x1f\x7f/\\]+$/, { message: 'filename must be a plain file name' })
  filename?: string;
}

export class DpaDocumentInfo {
  sha256: string;
  size: number;
  name: string;
}

export class DpaResponse {
  id: string;
  customerId: string;
  version: number;
  @ApiProperty({ enum: DPA_STATUSES })
  status: string;
  breachNoticeHours: number;
  objectionWindowDays: number;
  @ApiProperty({ enum: AUTHORISATIONS })
  authorisation: string;
  maxRetentionDays: MaxRetentionDaysDto;
  @ApiProperty({ enum: TRANSFER_MECHANISMS, isArray: true })
  transferMechanisms: string[];
  @ApiProperty({ enum: DATA_CATEGORIES, isArray: true })
  dataCategories: string[];
  purposes: string[];
  expiresAt: string | null;
  signedByName: string | null;
  signedAt: string | null;
  /** The user who recorded the signature. */
  signatureRecordedBy: string | null;
  activatedAt: string | null;
  endedAt: string | null;
  document: DpaDocumentInfo | null;
  createdAt: string;
  updatedAt: string;
}

export class DpaPage {
  @ApiProperty({ type: [DpaResponse] })
  items: DpaResponse[];
  nextCursor: string | null;
}
