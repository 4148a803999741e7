import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, MaxLength, MinLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { IsTimestamp } from '../../common/validation';
import { DIRECTIONS, MESSAGE_STATUSES, type Direction, type MessageStatus } from '../message.entity';

/** One record of POST /messages/batch (documentation: the route checks records by hand, see record-validation.ts). */
export class IngestRecord {
  @ApiProperty({ format: 'uuid', description: 'an existing customer' })
  customerId: string;

  @ApiProperty({ minLength: 1, maxLength: 200, description: 'the platform\'s id; a record is stored once per customer and external id' })
  externalId: string;

  @ApiProperty({ enum: DIRECTIONS })
  direction: Direction;

  @ApiProperty({ example: '+4915112345678', description: 'the data subject\'s phone number, normalised to E.164; stored encrypted' })
  msisdn: string;

  @ApiProperty({ minLength: 1, maxLength: 64, description: 'sender id or short code (MT), or the number written to (MO)' })
  sender: string;

  @ApiProperty({ maxLength: 10000, description: 'stored encrypted' })
  body: string;

  @ApiProperty({ type: [String], format: 'uuid', minItems: 1, maxItems: 10, description: 'the sub-processors the message travelled through, in order' })
  route: string[];

  @ApiProperty({ example: 'DE', description: 'ISO 3166-1 alpha-2, upper case' })
  destinationCountry: string;

  @ApiProperty({ enum: MESSAGE_STATUSES })
  status: MessageStatus;

  @ApiProperty({ example: '2026-11-26T12:00:00Z', description: 'RFC 3339; from 2000-01-01 to at most 5 minutes ahead of the service\'s clock' })
  submittedAt: string;
}

export class IngestBatch {
  @ApiProperty({ type: [IngestRecord], maxItems: 10000, description: 'at most 10,000 records and INGEST_BODY_LIMIT (10 MB) per call' })
  records: IngestRecord[];
}

export class RecordErrorResponse {
  field: string;
  message: string;
}

export class RejectedRecordResponse {
  @ApiProperty({ description: 'position of the record in the batch, from 0' })
  index: number;
  externalId?: string;
  @ApiProperty({ type: [RecordErrorResponse] })
  errors: RecordErrorResponse[];
}

export class IngestCounts {
  received: number;
  /** Stored by this call. */
  stored: number;
  /** Already stored by an earlier call (same customer and external id): nothing was written. */
  duplicates: number;
  rejected: number;
  /** Route violations recorded for the records stored by this call (one per offending hop). */
  violations: number;
}

export class IngestResponse {
  counts: IngestCounts;
  @ApiProperty({ type: [String], nullable: true, description: 'per record, by index: the message id (stored now or before), or null when rejected' })
  ids: (string | null)[];
  @ApiProperty({ type: [Number], description: 'indexes of the records that were already stored' })
  duplicates: number[];
  @ApiProperty({ type: [RejectedRecordResponse] })
  rejected: RejectedRecordResponse[];
}

export class MessageQuery extends PageQuery {
  @IsOptional()
  @IsUUID()
  customerId?: string;

  @ApiPropertyOptional({ description: 'submitted at or after (RFC 3339)' })
  @IsOptional()
  @IsTimestamp()
  from?: string;

  @ApiPropertyOptional({ description: 'submitted before (RFC 3339)' })
  @IsOptional()
  @IsTimestamp()
  to?: string;

  @ApiPropertyOptional({ description: 'messages whose route went through this sub-processor' })
  @IsOptional()
  @IsUUID()
  subprocessorId?: string;

  @ApiPropertyOptional({ enum: MESSAGE_STATUSES })
  @IsOptional()
  @IsIn(MESSAGE_STATUSES)
  status?: MessageStatus;

  @ApiPropertyOptional({ enum: DIRECTIONS })
  @IsOptional()
  @IsIn(DIRECTIONS)
  direction?: Direction;
}

export class PiiState {
  @ApiProperty({ enum: ['readable', 'destroyed'] })
  msisdn: 'readable' | 'destroyed';
  @ApiProperty({ enum: ['readable', 'destroyed'] })
  body: 'readable' | 'destroyed';
}

/** A message's metadata: never its phone number, body or their hash. */
export class MessageResponse {
  id: string;
  customerId: string;
  externalId: string;
  @ApiProperty({ enum: DIRECTIONS })
  direction: string;
  sender: string;
  destinationCountry: string;
  @ApiProperty({ enum: MESSAGE_STATUSES })
  status: string;
  @ApiProperty({ type: [String], format: 'uuid' })
  route: string[];
  submittedAt: string;
  receivedAt: string;
  /** Whether the phone number and body can still be decrypted, or were destroyed (retention, erasure). */
  pii: PiiState;
}

export class MessagePage {
  @ApiProperty({ type: [MessageResponse] })
  items: MessageResponse[];
  nextCursor: string | null;
}

export class PiiReadDto {
  @ApiProperty({ minLength: 10, maxLength: 500, description: 'why the decrypted phone number and body are needed; kept in the audit log' })
  @IsString()
  @MinLength(10)
  @MaxLength(500)
  reason: string;
}

export class PiiResponse {
  id: string;
  customerId: string;
  /** Null once destroyed. */
  msisdn: string | null;
  /** Null once destroyed. */
  body: string | null;
}
