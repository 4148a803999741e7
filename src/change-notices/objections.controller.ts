import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { ObjectionPage, ObjectionQuery, ObjectionResponse, ResolveObjectionDto } from './dto/change-notice.dto';
import { ObjectionsService } from './objections.service';

@ApiTags('change notices')
@ApiBearerAuth()
@Controller('objections')
export class ObjectionsController {
  constructor(private readonly objections: ObjectionsService) {}

  @Get()
  @CheckAbility('read', 'Objection')
  list(@CurrentActor() actor: Actor, @Query() query: ObjectionQuery): Promise<ObjectionPage> {
    return this.objections.list(actor, query);
  }

  @Post(':id/resolution')
  @CheckAbility('update', 'Objection')
  @HttpCode(200)
  resolve(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: ResolveObjectionDto): Promise<ObjectionResponse> {
    return this.objections.resolve(actor, id, dto);
  }
}
