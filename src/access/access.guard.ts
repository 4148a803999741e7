import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ForbiddenError, UnauthorizedError } from '../common/errors';
import { refuseUnreadBody } from '../common/no-body';
import type { Actor } from './ability';
import { ABILITY_KEY, PUBLIC_KEY, RequiredAbility } from './access.decorators';
import { AuthService } from './auth.service';

/**
 * The one gate in front of every route: deny by default. A route must declare either @Public()
 * or @CheckAbility(action, subject); one that declares neither is refused for everybody.
 * This checks the role may do the action on the kind of thing at all; services then check the
 * particular row, and scope lists, with the same ability. Last, a caller who may use the route
 * is refused a body the route does not read (refuseUnreadBody).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger(AccessGuard.name);
  /** Per controller class, per handler: the route's declared rule. */
  private readonly rules = new WeakMap<Function, WeakMap<Function, Rule>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { isPublic, required } = this.ruleOf(context.getHandler(), context.getClass());
    if (isPublic) {
      refuseUnreadBody(context);
      return true;
    }
    const req = context.switchToHttp().getRequest<Request & { actor?: Actor; id?: unknown }>();
    if (!required) {
      this.logger.error({ requestId: req.id }, `route ${req.method} ${req.route?.path ?? ''} declares no access rule; refused`);
      throw new ForbiddenError('This route declares no access rule');
    }
    const credential = bearerCredential(req.headers.authorization);
    if (!credential) throw new UnauthorizedError();
    const actor = await this.auth.authenticate(credential, req.id === undefined ? undefined : String(req.id));
    req.actor = actor;
    const allowed = [required, ...(required.or ?? [])].some(({ action, subject }) => actor.ability.can(action, subject));
    if (!allowed) throw new ForbiddenError();
    refuseUnreadBody(context);
    return true;
  }

  /** What a route declares (its decorators do not change while the service runs, so each is read once). */
  private ruleOf(handler: Function, controller: Function): Rule {
    let rules = this.rules.get(controller);
    if (!rules) this.rules.set(controller, (rules = new WeakMap()));
    let rule = rules.get(handler);
    if (!rule) {
      const targets = [handler, controller];
      rule = {
        isPublic: !!this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets),
        required: this.reflector.getAllAndOverride<RequiredAbility | undefined>(ABILITY_KEY, targets),
      };
      rules.set(handler, rule);
    }
    return rule;
  }
}

/** The credential of an `Authorization: Bearer <credential>` header; undefined for anything else. */
export function bearerCredential(header: string | undefined): string | undefined {
  const [scheme, credential] = (header ?? '').split(' ');
  return scheme?.toLowerCase() === 'bearer' && credential ? credential : undefined;
}

interface Rule {
  isPublic: boolean;
  required?: RequiredAbility;
}
