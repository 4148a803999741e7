import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { MailPage, MailQuery } from './dto/mail.dto';
import { MailService } from './mail.service';

@ApiTags('notifications')
@ApiBearerAuth()
@Controller('notifications')
export class NotificationsController {
  constructor(private readonly mail: MailService) {}

  /** Every mail the service sent or will send, with its delivery state; customers see their own. */
  @Get()
  @CheckAbility('read', 'Notification')
  list(@CurrentActor() actor: Actor, @Query() query: MailQuery): Promise<MailPage> {
    return this.mail.list(actor, query);
  }
}
