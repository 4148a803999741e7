import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOkResponse, ApiProduces, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Actor } from '../access/ability';
import { CheckAnyAbility, CurrentActor } from '../access/access.decorators';
import { CustomerIncidentReportResponse, type IncidentReport, IncidentReportQuery, IncidentReportResponse } from './dto/incident-report.dto';
import { IncidentReportService } from './incident-report.service';

/** ?format= wins; otherwise the Accept header, JSON when it does not care. */
const wantsHtml = (query: IncidentReportQuery, req: Request) => (query.format ? query.format === 'html' : req.accepts(['application/json', 'text/html']) === 'text/html');

/** The page uses nothing but its own inline style. */
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'";

@ApiTags('incidents')
@ApiBearerAuth()
@Controller('incidents')
export class IncidentReportController {
  constructor(private readonly reports: IncidentReportService) {}

  /**
   * The incident's record (Art. 33(5) documentation), JSON or a printable HTML page: all of it for
   * staff who read incidents; for a customer user, the part about its customer once notified.
   */
  @Get(':id/report')
  @CheckAnyAbility(['read', 'Incident'], ['read', 'Notification'])
  @ApiProduces('application/json', 'text/html')
  @ApiExtraModels(IncidentReportResponse, CustomerIncidentReportResponse)
  @ApiOkResponse({ schema: { oneOf: [{ $ref: getSchemaPath(IncidentReportResponse) }, { $ref: getSchemaPath(CustomerIncidentReportResponse) }] } })
  report(
    @CurrentActor() actor: Actor, @Param('id') id: string, @Query() query: IncidentReportQuery, @Req() req: Request, @Res({ passthrough: true }) res: Response,
  ): Promise<IncidentReport | string> {
    res.vary('Accept').setHeader('Cache-Control', 'private, no-store');
    if (!wantsHtml(query, req)) return this.reports.report(actor, id);
    res.type('text/html; charset=utf-8').setHeader('Content-Security-Policy', REPORT_CSP);
    return this.reports.html(actor, id);
  }
}
