import { Body, Controller, Get, Headers, Param, Post, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { EvidenceUploadQuery, IncidentEvidenceList, IncidentEvidenceResponse } from './dto/incident-evidence.dto';
import { IncidentEvidenceService } from './incident-evidence.service';

@ApiTags('incidents')
@ApiBearerAuth()
@Controller('incidents')
export class IncidentEvidenceController {
  constructor(private readonly evidence: IncidentEvidenceService) {}

  /** Attaches a file (the raw body, any media type, up to 25 MB) with its SHA-256; on the timeline. */
  @Post(':id/evidence')
  @CheckAbility('update', 'Incident')
  @ApiConsumes('application/octet-stream', '*/*')
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  upload(
    @CurrentActor() actor: Actor, @Param('id') id: string, @Query() query: EvidenceUploadQuery, @Body() content: Buffer,
    @Headers('content-type') contentType?: string,
  ): Promise<IncidentEvidenceResponse> {
    return this.evidence.upload(actor, id, { content, contentType, fileName: query.fileName });
  }

  /** Oldest first, without content. */
  @Get(':id/evidence')
  @CheckAbility('read', 'Incident')
  list(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<IncidentEvidenceList> {
    return this.evidence.list(actor, id);
  }

  /** The file as uploaded, its SHA-256 in Repr-Digest; each download is audited. */
  @Get(':id/evidence/:evidenceId')
  @CheckAbility('read', 'Incident')
  @ApiProduces('application/octet-stream')
  async download(
    @CurrentActor() actor: Actor, @Param('id') id: string, @Param('evidenceId') evidenceId: string, @Res({ passthrough: true }) res: Response,
  ): Promise<StreamableFile> {
    const file = await this.evidence.download(actor, id, evidenceId);
    for (const [name, value] of Object.entries(file.headers)) res.setHeader(name, value);
    return new StreamableFile(file.content);
  }
}
