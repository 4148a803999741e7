import { Body, Controller, Get, Param, Post, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { CreateSubjectRequestDto, SubjectRequestPage, SubjectRequestQuery, SubjectRequestResponse } from './dto/subject-request.dto';
import { SubjectRequestsService } from './subject-requests.service';

@ApiTags('data-subject-requests')
@ApiBearerAuth()
@Controller('data-subject-requests')
export class SubjectRequestsController {
  constructor(private readonly requests: SubjectRequestsService) {}

  /**
   * Files a request for one phone number of one customer and carries it out at once: access counts
   * that person's messages (download them from exportPath); erasure destroys their phone numbers and
   * bodies, except under a legal hold, and issues a deletion certificate.
   */
  @Post()
  @CheckAbility('create', 'DataSubjectRequest')
  create(@CurrentActor() actor: Actor, @Body() dto: CreateSubjectRequestDto): Promise<SubjectRequestResponse> {
    return this.requests.create(actor, dto);
  }

  /** Newest first; customer users see their own customer's only. */
  @Get()
  @CheckAbility('read', 'DataSubjectRequest')
  list(@CurrentActor() actor: Actor, @Query() query: SubjectRequestQuery): Promise<SubjectRequestPage> {
    return this.requests.list(actor, query);
  }

  @Get(':id')
  @CheckAbility('read', 'DataSubjectRequest')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<SubjectRequestResponse> {
    return this.requests.get(actor, id);
  }

  /** An access request's messages, decrypted now, as a JSON attachment; audited as a PII read. Customer users (own customer) and the DPO. */
  @Get(':id/export')
  @CheckAbility('create', 'DataSubjectRequest')
  @ApiProduces('application/json')
  async export(@CurrentActor() actor: Actor, @Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<StreamableFile> {
    const file = await this.requests.export(actor, id);
    res.setHeader('Cache-Control', 'private, no-store');
    return new StreamableFile(file.content, { type: 'application/json; charset=utf-8', disposition: `attachment; filename="${file.name}"`, length: file.content.length });
  }
}
