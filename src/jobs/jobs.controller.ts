import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { JobResponse, JobRunResponse } from './dto/job.dto';
import { JobsService } from './jobs.service';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  @CheckAbility('read', 'Job')
  list(): Promise<JobResponse[]> {
    return this.jobs.list();
  }

  @Get(':name/runs')
  @CheckAbility('read', 'Job')
  runs(@Param('name') name: string): Promise<JobRunResponse[]> {
    return this.jobs.runs(name, 50);
  }

  @Post(':name/run')
  @CheckAbility('create', 'Job')
  @HttpCode(200)
  run(@CurrentActor() actor: Actor, @Param('name') name: string): Promise<JobRunResponse> {
    return this.jobs.runNow(actor, name);
  }
}
