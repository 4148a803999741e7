import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { PurgeRunDetail, PurgeRunPage, PurgeRunQuery, PurgeStatusResponse } from './purge.dto';
import { PurgeStatusService } from './purge-status.service';

@ApiTags('retention')
@ApiBearerAuth()
@Controller('retention')
export class PurgeController {
  constructor(private readonly purge: PurgeStatusService) {}

  /** Purge lag now and over the last 24 hours against its target, and the last run. */
  @Get('status')
  @CheckAbility('read', 'PurgeRun')
  status(): Promise<PurgeStatusResponse> {
    return this.purge.status();
  }

  /** Purge runs, newest first. */
  @Get('runs')
  @CheckAbility('read', 'PurgeRun')
  list(@CurrentActor() actor: Actor, @Query() query: PurgeRunQuery): Promise<PurgeRunPage> {
    return this.purge.list(actor, query);
  }

  @Get('runs/:id')
  @CheckAbility('read', 'PurgeRun')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<PurgeRunDetail> {
    return this.purge.get(actor, id);
  }
}
