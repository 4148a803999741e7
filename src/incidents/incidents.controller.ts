import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import {
  IncidentClockResponse, IncidentCommentDto, IncidentCustomerDto, IncidentPage, IncidentQuery, IncidentResponse, IncidentScopeResponse, ReportIncidentDto, TransitionIncidentDto,
} from './dto/incident.dto';
import { IncidentsService } from './incidents.service';

@ApiTags('incidents')
@ApiBearerAuth()
@Controller('incidents')
export class IncidentsController {
  constructor(private readonly incidents: IncidentsService) {}

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
