import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from '../access/ability';
import { CheckAbility, CurrentActor } from '../access/access.decorators';
import { ChangeNoticeResponse } from '../change-notices/dto/change-notice.dto';
import { PageQuery } from '../common/pagination';
import {
  CreateSubprocessorDto, HistoryPage, ProposeChangeDto, SubprocessorPage, SubprocessorQuery, SubprocessorResponse, TransitionDto, UpdateSubprocessorDto,
} from './dto/subprocessor.dto';
import { SubprocessorsService } from './subprocessors.service';

@ApiTags('sub-processors')
@ApiBearerAuth()
@Controller('subprocessors')
export class SubprocessorsController {
  constructor(private readonly subprocessors: SubprocessorsService) {}

  @Post()
  @CheckAbility('create', 'Subprocessor')
  create(@CurrentActor() actor: Actor, @Body() dto: CreateSubprocessorDto): Promise<SubprocessorResponse> {
    return this.subprocessors.create(actor, dto);
  }

  @Get()
  @CheckAbility('read', 'Subprocessor')
  list(@CurrentActor() actor: Actor, @Query() query: SubprocessorQuery): Promise<SubprocessorPage> {
    return this.subprocessors.list(actor, query);
  }

  @Get(':id')
  @CheckAbility('read', 'Subprocessor')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<SubprocessorResponse> {
    return this.subprocessors.get(actor, id);
  }

  /** Material changes to one in service become a change notice (see pendingChangeNotice). */
  @Patch(':id')
  @CheckAbility('update', 'Subprocessor')
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: UpdateSubprocessorDto): Promise<SubprocessorResponse> {
    return this.subprocessors.update(actor, id, dto);
  }

  /** proposed → approved, active ⇄ suspended, suspended → offboarded; approved → active only by a change notice. */
  @Post(':id/transitions')
  @CheckAbility('update', 'Subprocessor')
  @HttpCode(200)
  transition(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: TransitionDto): Promise<SubprocessorResponse> {
    return this.subprocessors.transition(actor, id, dto);
  }

  /** Who changed what, when: newest first. */
  @Get(':id/history')
  @CheckAbility('read', 'Subprocessor')
  history(@CurrentActor() actor: Actor, @Param('id') id: string, @Query() query: PageQuery): Promise<HistoryPage> {
    return this.subprocessors.history(actor, id, query);
  }

  /** Proposes an approved sub-processor for activation: the Art. 28(2) notice to the affected customers. */
  @Post(':id/change-notices')
  @CheckAbility('create', 'ChangeNotice')
  proposeActivation(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: ProposeChangeDto): Promise<ChangeNoticeResponse> {
    return this.subprocessors.proposeActivation(actor, id, dto);
  }
}
