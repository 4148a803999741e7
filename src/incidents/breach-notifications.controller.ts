import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { BreachNotificationsService } from './breach-notifications.service';
import { BreachNotificationPage, BreachNotificationResponse, EditNotificationDto, FollowUpDto, NotificationQuery } from './dto/breach-notification.dto';

/** Breach notifications: staff see and work on all of them, a customer user its own approved ones. */
@ApiTags('incidents')
@ApiBearerAuth()
@Controller('breach-notifications')
export class BreachNotificationsController {
  constructor(private readonly notifications: BreachNotificationsService) {}

  /** Newest first; customer users get their own customer's approved notifications and follow-ups. */
  @Get()
  @CheckAbility('read', 'Notification')
  list(@CurrentActor() actor: Actor, @Query() query: NotificationQuery): Promise<BreachNotificationPage> {
    return this.notifications.list(actor, query);
  }

  @Get(':id')
  @CheckAbility('read', 'Notification')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<BreachNotificationResponse> {
    return this.notifications.get(actor, id);
  }

  /** Replaces parts of a draft (security or DPO); the editor becomes one of its authors. */
  @Patch(':id')
  @CheckAbility('update', 'Notification')
  edit(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: EditNotificationDto): Promise<BreachNotificationResponse> {
    return this.notifications.edit(actor, id, dto);
  }

  /** A DPO who did not write it approves it, and it is queued for the customer's breach addresses. */
  @Post(':id/approval')
  @CheckAbility('approve', 'Notification')
  @HttpCode(200)
  approve(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<BreachNotificationResponse> {
    return this.notifications.approve(actor, id);
  }

  /** Sends an approved notification again after its mail failed for good, to the customer's current breach addresses (DPO). */
  @Post(':id/resend')
  @CheckAbility('approve', 'Notification')
  @HttpCode(200)
  resend(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<BreachNotificationResponse> {
    return this.notifications.resend(actor, id);
  }

  /** The customer confirms it received the notification. */
  @Post(':id/acknowledgement')
  @CheckAbility('acknowledge', 'Notification')
  @HttpCode(200)
  acknowledge(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<BreachNotificationResponse> {
    return this.notifications.acknowledge(actor, id);
  }

  /** A follow-up (Art. 33(4)) to an approved initial notification: a new draft, approved the same way. */
  @Post(':id/follow-ups')
  @CheckAbility('create', 'Notification')
  followUp(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: FollowUpDto): Promise<BreachNotificationResponse> {
    return this.notifications.followUp(actor, id, dto);
  }
}
