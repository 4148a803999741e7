import { Body, Controller, Header, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { PageQuery } from '../common/pagination';
import type { Actor } from './ability';
import { CheckAbility, CurrentActor } from './access.decorators';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyPage, CreateApiKeyDto, CreatedApiKeyResponse } from './dto/api-key.dto';

@ApiTags('api-keys')
@ApiBearerAuth()
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @CheckAbility('create', 'ApiKey')
  @Header('Cache-Control', 'no-store')
  create(@CurrentActor() actor: Actor, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    return this.apiKeys.create(actor, dto);
  }

  @Get()
  @CheckAbility('read', 'ApiKey')
  list(@CurrentActor() actor: Actor, @Query() query: PageQuery): Promise<ApiKeyPage> {
    return this.apiKeys.list(actor, query);
  }

  @Delete(':id')
  @CheckAbility('delete', 'ApiKey')
  @HttpCode(204)
  revoke(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<void> {
    return this.apiKeys.revoke(actor, id);
  }
}
