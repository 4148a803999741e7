import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { RouteViolationPage, RouteViolationQuery } from './dto/route-violation.dto';
import { RouteViolationsService } from './route-violations.service';

@ApiTags('messages')
@ApiBearerAuth()
@Controller('route-violations')
export class RouteViolationsController {
  constructor(private readonly violations: RouteViolationsService) {}

  /** Hops of ingested messages through sub-processors the customer had not authorised, newest first. */
  @Get()
  @CheckAbility('read', 'RouteViolation')
  list(@CurrentActor() actor: Actor, @Query() query: RouteViolationQuery): Promise<RouteViolationPage> {
    return this.violations.list(actor, query);
  }
}
