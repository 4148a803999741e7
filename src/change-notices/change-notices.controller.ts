import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { ChangeNoticesService } from './change-notices.service';
import { ChangeNoticePage, ChangeNoticeQuery, ChangeNoticeResponse, ObjectionResponse, ReasonDto } from './dto/change-notice.dto';
import { ObjectionsService } from './objections.service';

@ApiTags('change notices')
@ApiBearerAuth()
@Controller('change-notices')
export class ChangeNoticesController {
  constructor(
    private readonly notices: ChangeNoticesService,
    private readonly objections: ObjectionsService,
  ) {}

  /** Every notice for the DPO, legal and auditors; a customer sees the notices it was sent. */
  @Get()
  @CheckAbility('read', 'ChangeNotice')
  list(@CurrentActor() actor: Actor, @Query() query: ChangeNoticeQuery): Promise<ChangeNoticePage> {
    return this.notices.list(actor, query);
  }

  @Get(':id')
  @CheckAbility('read', 'ChangeNotice')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<ChangeNoticeResponse> {
    return this.notices.get(actor, id);
  }

  /** A customer objects, with its reasons, before its deadline (409 after). */
  @Post(':id/objections')
  @CheckAbility('object', 'ChangeNotice')
  object(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: ReasonDto): Promise<ObjectionResponse> {
    return this.objections.object(actor, id, dto);
  }

  /** A customer under specific authorisation approves the change for its data. */
  @Post(':id/approvals')
  @CheckAbility('approve', 'ChangeNotice')
  @HttpCode(200)
  approve(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<ChangeNoticeResponse> {
    return this.notices.approve(actor, id);
  }

  /** The DPO calls off a pending change; the customers told of it are told it is off. */
  @Post(':id/withdrawal')
  @CheckAbility('update', 'ChangeNotice')
  @HttpCode(200)
  withdraw(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: ReasonDto): Promise<ChangeNoticeResponse> {
    return this.notices.withdraw(actor, id, dto);
  }
}
