import { Body, Controller, Get, Headers, HttpCode, Param, Patch, Post, Put, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { attachment } from '../common/attachment';
import { DpaDocumentsService, PDF } from './dpa-documents.service';
import { DpasService } from './dpas.service';
import { CreateDpaDto, DocumentUploadQuery, DpaListQuery, DpaPage, DpaResponse, DpaTransitionDto, UpdateDpaDto } from './dto/dpa.dto';

@ApiTags('dpas')
@ApiBearerAuth()
@Controller()
export class DpasController {
  constructor(
    private readonly dpas: DpasService,
    private readonly documents: DpaDocumentsService,
  ) {}

  /** Every version of one customer's DPA, newest first; customer users see their own only. */
  @Get('customers/:customerId/dpas')
  @CheckAbility('read', 'Dpa')
  list(@CurrentActor() actor: Actor, @Param('customerId') customerId: string, @Query() query: DpaListQuery): Promise<DpaPage> {
    return this.dpas.list(actor, customerId, query);
  }

  /** A new version, as a draft. */
  @Post('customers/:customerId/dpas')
  @CheckAbility('create', 'Dpa')
  create(@CurrentActor() actor: Actor, @Param('customerId') customerId: string, @Body() dto: CreateDpaDto): Promise<DpaResponse> {
    return this.dpas.create(actor, customerId, dto);
  }

  @Get('dpas/:id')
  @CheckAbility('read', 'Dpa')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<DpaResponse> {
    return this.dpas.get(actor, id);
  }

  /** Changes terms; only a draft or a DPA in review (409 otherwise). */
  @Patch('dpas/:id')
  @CheckAbility('update', 'Dpa')
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: UpdateDpaDto): Promise<DpaResponse> {
    return this.dpas.update(actor, id, dto);
  }

  /** draft → in_review → signed → active → expired | terminated; anything else is a 409 naming the allowed ones. */
  @Post('dpas/:id/transitions')
  @CheckAbility('update', 'Dpa')
  @HttpCode(200)
  transition(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: DpaTransitionDto): Promise<DpaResponse> {
    return this.dpas.transition(actor, id, dto);
  }

  /** The signed agreement as a raw PDF body (up to 10 MB); only before the signature is recorded. */
  @Put('dpas/:id/document')
  @CheckAbility('update', 'Dpa')
  @ApiConsumes(PDF)
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  uploadDocument(
    @CurrentActor() actor: Actor, @Param('id') id: string, @Body() content: Buffer, @Query() query: DocumentUploadQuery,
    @Headers('content-disposition') contentDisposition?: string,
  ): Promise<DpaResponse> {
    return this.documents.upload(actor, id, { content, filename: query.filename, contentDisposition });
  }

  /** The PDF, with its SHA-256 in X-Content-SHA256; refused (500, integrity) if it no longer matches. */
  @Get('dpas/:id/document')
  @CheckAbility('read', 'Dpa')
  @ApiProduces(PDF)
  async downloadDocument(@CurrentActor() actor: Actor, @Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<StreamableFile> {
    const file = await this.documents.download(actor, id);
    res.setHeader('X-Content-SHA256', file.sha256);
    res.setHeader('Cache-Control', 'private, no-store');
    return new StreamableFile(file.content, { type: PDF, disposition: attachment(file.name), length: file.content.length });
  }
}
