import { Controller, Get, Header, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../access/access.decorators';
import type { AcknowledgementPage } from './acknowledgement-pages';
import { BreachNotificationsService } from './breach-notifications.service';

const send = (res: Response, page: AcknowledgementPage) => {
  res.status(page.status);
  return page.html;
};

/**
 * The one-click link in a breach notification mail: GET shows a button (mail scanners follow
 * links), POST acknowledges. Signed, expiring and single-use; 410 once used or expired.
 */
@ApiTags('incidents')
@Controller('breach-acknowledgements')
export class BreachAcknowledgementsController {
  constructor(private readonly notifications: BreachNotificationsService) {}

  @Get(':token')
  @Public()
  @ApiProduces('text/html')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  async prompt(@Param('token') token: string, @Res({ passthrough: true }) res: Response): Promise<string> {
    return send(res, await this.notifications.acknowledgementPrompt(token));
  }

  @Post(':token')
  @Public()
  @HttpCode(200)
  @ApiProduces('text/html')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  async acknowledge(@Param('token') token: string, @Res({ passthrough: true }) res: Response): Promise<string> {
    return send(res, await this.notifications.acknowledgeByLink(token));
  }
}
