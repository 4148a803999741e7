import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { Action, Actor, Subject } from './ability';

export const ABILITY_KEY = 'custodian:ability';
export const PUBLIC_KEY = 'custodian:public';

export interface RequiredAbility {
  action: Action;
  subject: Subject;
  /** Other abilities that also open the route (the service then decides what the caller sees). */
  or?: { action: Action; subject: Subject }[];
}

/** Declares what a route does; the global AccessGuard refuses callers whose role may not. */
export const CheckAbility = (action: Action, subject: Subject) =>
  SetMetadata<string, RequiredAbility>(ABILITY_KEY, { action, subject });

/**
 * A route two kinds of caller reach for different parts of the same thing, e.g. an incident's
 * report: staff who read incidents get all of it, a customer user the part about its customer.
 */
export const CheckAnyAbility = (first: [Action, Subject], ...others: [Action, Subject][]) =>
  SetMetadata<string, RequiredAbility>(ABILITY_KEY, { action: first[0], subject: first[1], or: others.map(([action, subject]) => ({ action, subject })) });

/** Declares a route that needs no login (health, login, public pages). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const actor = ctx.switchToHttp().getRequest<{ actor?: Actor }>().actor;
  if (!actor) throw new Error('CurrentActor used on a route without authentication');
  return actor;
});
