import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { IncidentCommentDto, IncidentPage, IncidentQuery, IncidentResponse, ReportIncidentDto, TransitionIncidentDto } from './dto/incident.dto';
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

  @Post(':id/comments')
  @CheckAbility('update', 'Incident')
  @HttpCode(200)
  comment(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: IncidentCommentDto): Promise<IncidentResponse> {
    return this.incidents.comment(actor, id, dto);
  }
}
