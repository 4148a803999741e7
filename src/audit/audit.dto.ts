import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { PageQuery } from '../common/pagination';
import { IsTimestamp } from '../common/validation';

export class AuditQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'User' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  subjectType?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(128)
  subjectId?: string;

  @ApiPropertyOptional({ description: 'id of the user or API key that acted' })
  @IsOptional()
  @IsUUID()
  actorId?: string;

  @ApiPropertyOptional({ example: 'user.created' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  action?: string;

  @ApiPropertyOptional({ description: 'ISO-8601, inclusive' })
  @IsOptional()
  @IsTimestamp()
  from?: string;

  @ApiPropertyOptional({ description: 'ISO-8601, exclusive' })
  @IsOptional()
  @IsTimestamp()
  to?: string;
}

export class AuditEntryResponse {
  seq: number;
  at: string;
  @ApiProperty({ enum: ['user', 'api_key', 'system'] })
  actorType: string;
  actorId: string | null;
  action: string;
  subjectType: string;
  subjectId: string | null;
  requestId: string | null;
  changes: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export class AuditPage {
  @ApiProperty({ type: [AuditEntryResponse] })
  items: AuditEntryResponse[];
  nextCursor: string | null;
}

export class AuditVerifyResponse {
  ok: boolean;
  @ApiProperty({ description: 'entries examined' })
  checked: number;
  @ApiProperty({ nullable: true, type: Number, description: 'seq of the first entry that breaks the chain' })
  firstBadSeq: number | null;
}
