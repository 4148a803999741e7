import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { Action, Actor, Subject } from './ability';

export const ABILITY_KEY = 'custodian:ability';
export const PUBLIC_KEY = 'custodian:public';

export interface RequiredAbility {
  action: Action;
  subject: Subject;
}

/** Declares what a route does; the global AccessGuard refuses callers whose role may not. */
export const CheckAbility = (action: Action, subject: Subject) =>
  SetMetadata<string, RequiredAbility>(ABILITY_KEY, { action, subject });

/** Declares a route that needs no login (health, login, public pages). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const actor = ctx.switchToHttp().getRequest<{ actor?: Actor }>().actor;
  if (!actor) throw new Error('CurrentActor used on a route without authentication');
  return actor;
});
