import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { MAIL_STATUSES, type MailStatus } from '../mail.entity';

export class MailQuery extends PageQuery {
  @ApiPropertyOptional({ enum: MAIL_STATUSES })
  @IsOptional()
  @IsIn(MAIL_STATUSES)
  status?: MailStatus;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  template?: string;
}

export class MailResponse {
  id: string;
  template: string;
  recipients: string[];
  subject: string;
  @ApiProperty({ enum: MAIL_STATUSES })
  status: string;
  attempts: number;
  lastError: string | null;
  customerId: string | null;
  about: { type: string; id: string | null } | null;
  createdAt: string;
  sentAt: string | null;
}

export class MailPage {
  @ApiProperty({ type: [MailResponse] })
  items: MailResponse[];
  nextCursor: string | null;
}
