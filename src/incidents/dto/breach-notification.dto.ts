import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsBoolean, IsIn, IsObject, IsOptional, IsString, IsUUID, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { NOTIFICATION_KINDS } from '../breach-notification.entity';

const SECTION_LIMIT = 10_000;

/** The parts a person may write; which ones a notification has depends on its kind. */
export class NotificationSectionsDto {
  @ApiPropertyOptional({ maxLength: SECTION_LIMIT }) @IsOptional() @IsString() @MinLength(1) @MaxLength(SECTION_LIMIT) nature?: string;
  @ApiPropertyOptional({ maxLength: SECTION_LIMIT }) @IsOptional() @IsString() @MinLength(1) @MaxLength(SECTION_LIMIT) dataSubjects?: string;
  @ApiPropertyOptional({ maxLength: SECTION_LIMIT }) @IsOptional() @IsString() @MinLength(1) @MaxLength(SECTION_LIMIT) records?: string;
  @ApiPropertyOptional({ maxLength: SECTION_LIMIT }) @IsOptional() @IsString() @MinLength(1) @MaxLength(SECTION_LIMIT) categories?: string;
  @ApiPropertyOptional({ maxLength: SECTION_LIMIT }) @IsOptional() @IsString() @MinLength(1) @MaxLength(SECTION_LIMIT) consequences?: string;
  @ApiPropertyOptional({ maxLength: SECTION_LIMIT }) @IsOptional() @IsString() @MinLength(1) @MaxLength(SECTION_LIMIT) measures?: string;
  @ApiPropertyOptional({ maxLength: SECTION_LIMIT }) @IsOptional() @IsString() @MinLength(1) @MaxLength(SECTION_LIMIT) contact?: string;
  @ApiPropertyOptional({ maxLength: SECTION_LIMIT }) @IsOptional() @IsString() @MinLength(1) @MaxLength(SECTION_LIMIT) severity?: string;
  @ApiPropertyOptional({ maxLength: SECTION_LIMIT, description: 'a follow-up\'s only part' })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(SECTION_LIMIT) update?: string;
}

export class DraftNotificationsDto {
  @ApiPropertyOptional({ type: [String], description: 'only these included customers; all included customers without a notification when left out' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  customerIds?: string[];

  @ApiPropertyOptional({ description: 'also write existing drafts afresh from the current facts, keeping the parts a person filled in where the generator leaves a blank' })
  @IsOptional()
  @IsBoolean()
  redraft?: boolean;
}

export class EditNotificationDto {
  @ApiProperty({ type: NotificationSectionsDto, description: 'the parts to replace; the others stay' })
  @IsObject()
  @ValidateNested()
  @Type(() => NotificationSectionsDto)
  sections: NotificationSectionsDto;
}

export class FollowUpDto {
  @ApiProperty({ type: NotificationSectionsDto, description: 'a follow-up has one part: `update`' })
  @IsObject()
  @ValidateNested()
  @Type(() => NotificationSectionsDto)
  sections: NotificationSectionsDto;
}

export class NotificationQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  incidentId?: string;

  @ApiPropertyOptional({ enum: NOTIFICATION_KINDS })
  @IsOptional()
  @IsIn(NOTIFICATION_KINDS)
  kind?: string;
}

export class BreachNotificationResponse {
  id: string;
  incidentId: string;
  customerId: string;
  @ApiProperty({ enum: NOTIFICATION_KINDS })
  kind: string;
  /** For a follow-up, the initial notification it updates. */
  followUpOf: string | null;
  @ApiProperty({ enum: ['draft', 'approved'] })
  status: string;
  /**
   * Where its mail is: `draft` before approval, then `queued` (waiting for the SMTP server,
   * retried), `sent` (taken by it) or `failed` (refused for good).
   */
  @ApiProperty({ enum: ['draft', 'queued', 'sent', 'failed'] })
  delivery: string;
  /** The mail's subject (never personal data). */
  subject: string;
  @ApiProperty({ type: NotificationSectionsDto })
  sections: Record<string, string>;
  /** Everyone who wrote or edited it; none of them may approve it. Staff only. */
  @ApiPropertyOptional({ type: [String] })
  authors?: string[];
  createdAt: string;
  updatedAt: string;
  /** Staff only. */
  approvedBy?: string | null;
  approvedAt: string | null;
  /** The customer's breach-notification addresses it went to. */
  @ApiProperty({ type: [String] })
  recipients: string[];
  sentAt: string | null;
  acknowledgedAt: string | null;
  @ApiProperty({ enum: ['api', 'link'], nullable: true })
  acknowledgedVia: string | null;
  remindersSent: number;
}

export class BreachNotificationPage {
  @ApiProperty({ type: [BreachNotificationResponse] })
  items: BreachNotificationResponse[];
  nextCursor: string | null;
}

export class BreachNotificationList {
  @ApiProperty({ type: [BreachNotificationResponse] })
  items: BreachNotificationResponse[];
}
