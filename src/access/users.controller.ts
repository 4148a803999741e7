import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Actor } from './ability';
import { CheckAbility, CurrentActor } from './access.decorators';
import { CreateUserDto, UpdateUserDto, UserPage, UserQuery, UserResponse } from './dto/user.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @CheckAbility('create', 'User')
  create(@CurrentActor() actor: Actor, @Body() dto: CreateUserDto): Promise<UserResponse> {
    return this.users.create(actor, dto);
  }

  @Get()
  @CheckAbility('read', 'User')
  list(@CurrentActor() actor: Actor, @Query() query: UserQuery): Promise<UserPage> {
    return this.users.list(actor, query);
  }

  @Get(':id')
  @CheckAbility('read', 'User')
  get(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<UserResponse> {
    return this.users.get(actor, id);
  }

  @Patch(':id')
  @CheckAbility('update', 'User')
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: UpdateUserDto): Promise<UserResponse> {
    return this.users.update(actor, id, dto);
  }
}
