import { Body, Controller, Header, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import type { Actor } from './ability';
import { CheckAbility, CurrentActor, Public } from './access.decorators';
import { AuthService } from './auth.service';
import { LoginDto, MeResponse, TokenResponse } from './dto/auth.dto';
import { UsersService } from './users.service';

@ApiTags('auth')
@Controller()
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Post('auth/login')
  @Public()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  login(@Body() dto: LoginDto, @Req() req: Request): Promise<TokenResponse> {
    return this.auth.login(dto, req.ip ?? 'unknown');
  }

  @Get('me')
  @ApiBearerAuth()
  @CheckAbility('read', 'Profile')
  me(@CurrentActor() actor: Actor): Promise<MeResponse> {
    return this.users.me(actor);
  }
}
