import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, MaxLength, MinLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { IsTimestamp } from '../../common/validation';

export class PlaceLegalHoldDto {
  @IsUUID()
  customerId: string;

  @ApiPropertyOptional({ description: 'narrow the hold to one data subject (E.164); stored only as its blind index, never returned', example: '+4915112345678' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  msisdn?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'held from this submitted-at on (inclusive)' })
  @IsOptional()
  @IsTimestamp()
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'held up to this submitted-at (exclusive)' })
  @IsOptional()
  @IsTimestamp()
  to?: string;

  @ApiProperty({ minLength: 10, maxLength: 1000, description: 'why the data must be kept (litigation, incident, authority request)' })
  @IsString()
  @MinLength(10)
  @MaxLength(1000)
  reason: string;

  @ApiPropertyOptional({ description: 'the incident this hold is for' })
  @IsOptional()
  @IsUUID()
  incidentId?: string;
}

export class ReleaseLegalHoldDto {
  @ApiProperty({ minLength: 10, maxLength: 1000 })
  @IsString()
  @MinLength(10)
  @MaxLength(1000)
  reason: string;
}

export class LegalHoldQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  customerId?: string;

  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'true: not released; false: released' })
  @IsOptional()
  @IsIn(['true', 'false'])
  active?: 'true' | 'false';
}

export class LegalHoldResponse {
  id: string;
  customerId: string;
  /** "set" when the hold is narrowed to one phone number (which is never returned), else null. */
  @ApiProperty({ enum: ['set'], nullable: true })
  phoneNumber: 'set' | null;
  /** Held from this submitted-at on (inclusive); null: from the beginning. */
  from: string | null;
  /** Held up to this submitted-at (exclusive); null: without end. */
  to: string | null;
  reason: string;
  incidentId: string | null;
  placedBy: string | null;
  placedAt: string;
  active: boolean;
  releasedAt: string | null;
  releasedBy: string | null;
  releaseReason: string | null;
}

export class LegalHoldPage {
  @ApiProperty({ type: [LegalHoldResponse] })
  items: LegalHoldResponse[];
  nextCursor: string | null;
}
