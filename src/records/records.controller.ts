import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { RecordsOfProcessingResponse, RecordsQuery } from './dto/records.dto';
import { RecordsService } from './records.service';

/** ?format= wins; otherwise the Accept header, JSON when it does not care. */
const wantsCsv = (query: RecordsQuery, req: Request) => (query.format ? query.format === 'csv' : req.accepts(['application/json', 'text/csv']) === 'text/csv');

@ApiTags('records-of-processing')
@ApiBearerAuth()
@Controller('records-of-processing')
export class RecordsController {
  constructor(private readonly records: RecordsService) {}

  /** Records of processing (GDPR Art. 30(2)), one per controller with a DPA in force; JSON or CSV. */
  @Get()
  @CheckAbility('read', 'ProcessingRecord')
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: RecordsOfProcessingResponse })
  list(@CurrentActor() actor: Actor, @Query() query: RecordsQuery, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<RecordsOfProcessingResponse | string> {
    res.vary('Accept');
    if (!wantsCsv(query, req)) return this.records.list(actor);
    res.type('text/csv; charset=utf-8').attachment('records-of-processing.csv');
    return this.records.csv(actor);
  }
}
