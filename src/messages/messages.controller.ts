import { Body, Controller, Get, Header, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { IngestBatch, IngestResponse, MessagePage, MessageQuery, MessageResponse, PiiReadDto, PiiResponse } from './dto/message.dto';
import { IngestionService } from './ingestion.service';
import { MessagesService } from './messages.service';

@ApiTags('messages')
@ApiBearerAuth()
@Controller('messages')
export class MessagesController {
  constructor(
    private readonly ingestion: IngestionService,
    private readonly messages: MessagesService,
  ) {}

  /**
   * Ingests up to 10,000 records (and INGEST_BODY_LIMIT) per call. Invalid records are rejected
   * with their index and reasons; the valid ones are stored. Idempotent per customer and external id.
   */
  @Post('batch')
  @CheckAbility('create', 'Message')
  @HttpCode(200)
  @ApiBody({ type: IngestBatch })
  ingest(@CurrentActor() actor: Actor, @Body() body: unknown): Promise<IngestResponse> {
    return this.ingestion.ingest(actor, body);
  }

  /** Metadata only, newest first. */
  @Get()
  @CheckAbility('read', 'Message')
  list(@CurrentActor() actor: Actor, @Query() query: MessageQuery): Promise<MessagePage> {
    return this.messages.list(actor, query);
  }

  @Get(':id')
  @CheckAbility('read', 'Message')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<MessageResponse> {
    return this.messages.get(actor, id);
  }

  /** Break-glass: the decrypted phone number and body, with a stated reason, audited. */
  @Post(':id/pii')
  @CheckAbility('read', 'MessagePii')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  readPii(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: PiiReadDto): Promise<PiiResponse> {
    return this.messages.readPii(actor, id, dto);
  }
}
