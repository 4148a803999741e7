import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { IsTimestamp } from '../../common/validation';
import { VIOLATION_REASONS, type ViolationReason } from '../route-violation.entity';

export class RouteViolationQuery extends PageQuery {
  @IsOptional()
  @IsUUID()
  customerId?: string;

  @IsOptional()
  @IsUUID()
  subprocessorId?: string;

  @ApiPropertyOptional({ enum: VIOLATION_REASONS })
  @IsOptional()
  @IsIn(VIOLATION_REASONS)
  reason?: ViolationReason;

  @ApiPropertyOptional({ description: 'detected at or after (RFC 3339)' })
  @IsOptional()
  @IsTimestamp()
  from?: string;

  @ApiPropertyOptional({ description: 'detected before (RFC 3339)' })
  @IsOptional()
  @IsTimestamp()
  to?: string;
}

export class ViolationCustomer {
  id: string;
  legalName: string;
}

export class ViolationSubprocessor {
  id: string;
  /** Null when the id names no sub-processor in the registry (reason unknown_subprocessor). */
  legalEntity: string | null;
}

export class RouteViolationResponse {
  id: string;
  messageId: string;
  externalId: string | null;
  customer: ViolationCustomer;
  subprocessor: ViolationSubprocessor;
  /** 0-based position of the hop in the message's route. */
  position: number;
  @ApiProperty({ enum: VIOLATION_REASONS })
  reason: string;
  submittedAt: string;
  detectedAt: string;
}

export class RouteViolationPage {
  @ApiProperty({ type: [RouteViolationResponse] })
  items: RouteViolationResponse[];
  nextCursor: string | null;
}
