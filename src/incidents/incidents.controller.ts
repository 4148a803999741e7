import { Body, Controller, Get, HttpCode, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import {
  IncidentClockResponse, IncidentCommentDto, IncidentCustomerDto, IncidentPage, IncidentQuery, IncidentResponse, IncidentScopeResponse, ReportIncidentDto, TransitionIncidentDto, UpdateIncidentDto,
} from './dto/incident.dto';
import { BreachNotificationsService } from './breach-notifications.service';
import { BreachNotificationList, DraftNotificationsDto } from './dto/breach-notification.dto';
import { OverrideSeverityDto, SeverityResponse } from './dto/severity.dto';
import { IncidentSeverityService } from './incident-severity.service';
import { IncidentsService } from './incidents.service';

@ApiTags('incidents')
@ApiBearerAuth()
@Controller('incidents')
export class IncidentsController {
  constructor(
    private readonly incidents: IncidentsService,
    private readonly severities: IncidentSeverityService,
    private readonly notifications: BreachNotificationsService,
  ) {}

  /** Reports a security incident (security role); it starts as `reported`. */
  @Post()
  @CheckAbility('create', 'Incident')
  report(@CurrentActor() actor: Actor, @Body() dto: ReportIncidentDto): Promise<IncidentResponse> {
    return this.incidents.report(actor, dto);
  }

  /** Newest first; without timelines. */
  @Get()
  @CheckAbility('read', 'Incident')
  list(@CurrentActor() actor: Actor, @Query() query: IncidentQuery): Promise<IncidentPage> {
    return this.incidents.list(actor, query);
  }

  /** One incident with its whole timeline. */
  @Get(':id')
  @CheckAbility('read', 'Incident')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<IncidentResponse> {
    return this.incidents.get(actor, id);
  }

  /** New facts (security or DPO, with what was learnt); a changed window or sub-processor list rescopes it. */
  @Patch(':id')
  @CheckAbility('update', 'Incident')
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: UpdateIncidentDto): Promise<IncidentResponse> {
    return this.incidents.update(actor, id, dto);
  }

  /** Moves it to its next status (409 names the allowed ones); confirming or dismissing a breach is the DPO's. */
  @Post(':id/transitions')
  @CheckAbility('update', 'Incident')
  @HttpCode(200)
  transition(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: TransitionIncidentDto): Promise<IncidentResponse> {
    return this.incidents.transition(actor, id, dto);
  }

  /** Finds the affected customers in the message store (security or DPO); run again when the facts change. */
  @Post(':id/scope')
  @CheckAbility('update', 'Incident')
  @HttpCode(200)
  scope(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<IncidentScopeResponse> {
    return this.incidents.scope(actor, id);
  }

  @Get(':id/scope')
  @CheckAbility('read', 'Incident')
  getScope(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<IncidentScopeResponse> {
    return this.incidents.getScope(actor, id);
  }

  /** Every included customer's notification deadline (from its DPA), time left and status. */
  @Get(':id/clock')
  @CheckAbility('read', 'Incident')
  clock(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<IncidentClockResponse> {
    return this.incidents.notificationClock(actor, id);
  }

  /** Drafts the initial notification of each included customer that has none (or of those named). */
  @Post(':id/notifications')
  @CheckAbility('create', 'Notification')
  draftNotifications(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: DraftNotificationsDto): Promise<BreachNotificationList> {
    return this.notifications.draft(actor, id, dto);
  }

  /** Every notification and follow-up of the incident, drafts included. */
  @Get(':id/notifications')
  @CheckAbility('read', 'Notification')
  notificationsOf(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<BreachNotificationList> {
    return this.notifications.forIncident(actor, id);
  }

  /** Each included customer's ENISA severity suggestion, every factor with its basis and any override. */
  @Get(':id/severity')
  @CheckAbility('read', 'Incident')
  severity(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<SeverityResponse> {
    return this.severities.list(actor, id);
  }

  /** Replaces one customer's severity overrides, each with a reason (security or DPO). */
  @Put(':id/customers/:customerId/severity')
  @CheckAbility('update', 'Incident')
  overrideSeverity(
    @CurrentActor() actor: Actor, @Param('id') id: string, @Param('customerId') customerId: string, @Body() dto: OverrideSeverityDto,
  ): Promise<SeverityResponse> {
    return this.severities.override(actor, id, customerId, dto);
  }

  /** The DPO adds (included: true) or excludes (false) a customer, with a reason. */
  @Put(':id/customers/:customerId')
  @CheckAbility('update', 'Incident')
  setCustomer(
    @CurrentActor() actor: Actor, @Param('id') id: string, @Param('customerId') customerId: string, @Body() dto: IncidentCustomerDto,
  ): Promise<IncidentScopeResponse> {
    return this.incidents.setCustomer(actor, id, customerId, dto);
  }

  @Post(':id/comments')
  @CheckAbility('update', 'Incident')
  @HttpCode(200)
  comment(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: IncidentCommentDto): Promise<IncidentResponse> {
    return this.incidents.comment(actor, id, dto);
  }
}
