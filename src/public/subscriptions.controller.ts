import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor, Public } from '../access/access.decorators';
import { SubscribeDto, SubscriberCountsResponse, SubscriptionRequestedResponse, SubscriptionTokenQuery } from './dto/subscription.dto';
import { SubscribersService } from './subscribers.service';

/** A form post gets a page back; an API call gets JSON. */
const wantsHtml = (req: Request) => req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded';

/** Anyone may subscribe to sub-processor changes by e-mail (double opt-in) and leave by one link. */
@ApiTags('public')
@Controller('public/subscriptions')
export class SubscriptionsController {
  constructor(private readonly subscribers: SubscribersService) {}

  /** Sends a confirmation link; answers the same whether the address is new, pending or confirmed. */
  @Post()
  @Public()
  @HttpCode(202)
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  @Header('Cache-Control', 'no-store')
  subscribe(@Body() dto: SubscribeDto, @Req() req: Request): Promise<SubscriptionRequestedResponse | string> {
    return this.subscribers.subscribe(dto, { ip: req.ip ?? 'unknown', html: wantsHtml(req) });
  }

  /** The link in the confirmation mail. */
  @Get(':id/confirm')
  @Public()
  @ApiProduces('text/html')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  confirm(@Param('id') id: string, @Query() query: SubscriptionTokenQuery): Promise<string> {
    return this.subscribers.confirm(id, query.token);
  }

  /** The link in every mail: a page with the button that unsubscribes. */
  @Get(':id/unsubscribe')
  @Public()
  @ApiProduces('text/html')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  unsubscribePrompt(@Param('id') id: string, @Query() query: SubscriptionTokenQuery): Promise<string> {
    return this.subscribers.unsubscribePrompt(id, query.token);
  }

  /** Unsubscribes and deletes the address; also the RFC 8058 one-click POST. */
  @Post(':id/unsubscribe')
  @Public()
  @HttpCode(200)
  @ApiProduces('text/html')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  unsubscribe(@Param('id') id: string, @Query() query: SubscriptionTokenQuery): Promise<string> {
    return this.subscribers.unsubscribe(id, query.token);
  }
}

/** For the DPO: how many people follow the changes (never who). */
@ApiTags('public')
@ApiBearerAuth()
@Controller('subscribers')
export class SubscribersController {
  constructor(private readonly subscribers: SubscribersService) {}

  @Get()
  @CheckAbility('read', 'Subscriber')
  counts(@CurrentActor() actor: Actor): Promise<SubscriberCountsResponse> {
    return this.subscribers.counts(actor);
  }
}
