import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { RetentionPreviewQuery, RetentionPreviewResponse } from './dto/retention-preview.dto';
import { RetentionPreviewService } from './retention-preview.service';

@ApiTags('retention')
@ApiBearerAuth()
@Controller('retention/preview')
export class RetentionPreviewController {
  constructor(private readonly preview: RetentionPreviewService) {}

  /** What a purge starting now would destroy, per customer and category, and what legal holds keep back. Changes nothing. */
  @Get()
  @CheckAbility('read', 'PurgeRun')
  get(@CurrentActor() actor: Actor, @Query() query: RetentionPreviewQuery): Promise<RetentionPreviewResponse> {
    return this.preview.preview(actor, query);
  }
}
