import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, MaxLength, MinLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { CHANGE_NOTICE_KINDS, CHANGE_NOTICE_STATUSES, type ChangeNoticeStatus, OBJECTION_RESOLUTIONS, type ObjectionResolution } from '../change-notice.entity';

export class ChangeNoticeQuery extends PageQuery {
  @ApiPropertyOptional({ enum: CHANGE_NOTICE_STATUSES })
  @IsOptional()
  @IsIn(CHANGE_NOTICE_STATUSES)
  status?: ChangeNoticeStatus;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  subprocessorId?: string;
}

export class ReasonDto {
  @ApiProperty({ description: 'in words for the people who read it' })
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  reason: string;
}

export class NoticeSubprocessor {
  id: string;
  legalEntity: string;
  country: string;
  role: string;
  purpose: string;
}

/** One affected customer, as that customer (or the DPO) sees it. */
export class NoticeRecipientResponse {
  customerId: string;
  objectionDeadline: string;
  approvalRequired: boolean;
  approvedAt: string | null;
}

export class ChangeNoticeResponse {
  id: string;
  @ApiProperty({ enum: CHANGE_NOTICE_KINDS })
  kind: string;
  @ApiProperty({ enum: CHANGE_NOTICE_STATUSES })
  status: string;
  reason: string;
  @ApiProperty({ description: '{ field: { from, to } }' })
  changes: Record<string, { from: unknown; to: unknown }>;
  proposedAt: string;
  effectiveAt: string;
  appliedAt: string | null;
  subprocessor: NoticeSubprocessor;
  @ApiProperty({ type: [NoticeRecipientResponse], description: 'the affected customers the caller may see: all for the DPO, its own for a customer' })
  recipients: NoticeRecipientResponse[];
}

export class ChangeNoticePage {
  @ApiProperty({ type: [ChangeNoticeResponse] })
  items: ChangeNoticeResponse[];
  nextCursor: string | null;
}

export class ObjectionQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  noticeId?: string;

  @ApiPropertyOptional({ enum: ['open', 'resolved'] })
  @IsOptional()
  @IsIn(['open', 'resolved'])
  state?: 'open' | 'resolved';
}

export class ResolveObjectionDto {
  @ApiProperty({
    enum: OBJECTION_RESOLUTIONS,
    description: 'withdrawn: the customer withdrew it, the sub-processor becomes authorised for it; alternative_route / dpa_terminated: it stays excluded for that customer',
  })
  @IsIn(OBJECTION_RESOLUTIONS)
  resolution: ObjectionResolution;

  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  note: string;
}

export class ObjectionResponse {
  id: string;
  noticeId: string;
  customerId: string;
  subprocessorId: string;
  reason: string;
  raisedBy: string;
  raisedAt: string;
  @ApiProperty({ enum: OBJECTION_RESOLUTIONS, nullable: true })
  resolution: string | null;
  resolutionNote: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
}

export class ObjectionPage {
  @ApiProperty({ type: [ObjectionResponse] })
  items: ObjectionResponse[];
  nextCursor: string | null;
}
