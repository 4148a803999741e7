import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { AuditPage, AuditQuery, AuditVerifyResponse } from './audit.dto';
import { AuditService } from './audit.service';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @CheckAbility('read', 'AuditEntry')
  list(@CurrentActor() actor: Actor, @Query() query: AuditQuery): Promise<AuditPage> {
    return this.audit.list(actor, query);
  }

  @Get('verify')
  @CheckAbility('read', 'AuditEntry')
  verify(): Promise<AuditVerifyResponse> {
    return this.audit.verify();
  }
}
