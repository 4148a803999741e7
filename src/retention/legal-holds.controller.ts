import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { LegalHoldPage, LegalHoldQuery, LegalHoldResponse, PlaceLegalHoldDto, ReleaseLegalHoldDto } from './dto/legal-hold.dto';
import { LegalHoldsService } from './legal-holds.service';

@ApiTags('legal holds')
@ApiBearerAuth()
@Controller('legal-holds')
export class LegalHoldsController {
  constructor(private readonly holds: LegalHoldsService) {}

  /** Keeps a customer's data (or one phone number's, or a time range's) past its retention until released. */
  @Post()
  @CheckAbility('create', 'LegalHold')
  place(@CurrentActor() actor: Actor, @Body() dto: PlaceLegalHoldDto): Promise<LegalHoldResponse> {
    return this.holds.create(actor, dto);
  }

  /** Newest first. */
  @Get()
  @CheckAbility('read', 'LegalHold')
  list(@CurrentActor() actor: Actor, @Query() query: LegalHoldQuery): Promise<LegalHoldPage> {
    return this.holds.list(actor, query);
  }

  @Get(':id')
  @CheckAbility('read', 'LegalHold')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<LegalHoldResponse> {
    return this.holds.get(actor, id);
  }

  /** Ends the hold (409 when already released); the next purge takes what it kept and has expired. */
  @Post(':id/release')
  @CheckAbility('update', 'LegalHold')
  @HttpCode(200)
  release(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: ReleaseLegalHoldDto): Promise<LegalHoldResponse> {
    return this.holds.release(actor, id, dto);
  }
}
