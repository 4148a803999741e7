import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { AuthorisationService } from './authorisation.service';
import { AuthorisedQuery, AuthorisedSubprocessorsResponse } from './dto/subprocessor.dto';

@ApiTags('sub-processors')
@ApiBearerAuth()
@Controller('customers/:id/authorised-subprocessors')
export class AuthorisedSubprocessorsController {
  constructor(private readonly authorisation: AuthorisationService) {}

  /** Which sub-processors may carry this customer's data at a moment (default now). */
  @Get()
  @CheckAbility('read', 'RouteAuthorisation')
  get(@CurrentActor() actor: Actor, @Param('id') id: string, @Query() query: AuthorisedQuery): Promise<AuthorisedSubprocessorsResponse> {
    return this.authorisation.forCustomer(actor, id, query);
  }
}
