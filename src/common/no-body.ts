import type { ExecutionContext } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Request } from 'express';
import { ValidationProblem } from './errors';

/**
 * Unknown input is refused, not ignored (DESIGN.md): a route that reads no body refuses a JSON
 * body with something in it, as a route with a body DTO refuses fields it does not know. An empty
 * object is no input; other media types (the one-click unsubscribe's form field, RFC 8058) are
 * left to the routes that take them. Checked by the AccessGuard once the caller may use the route
 * (a guard, not an interceptor: Nest runs no interceptor machinery when there is none, which is
 * a noticeable part of a cheap request).
 */
export function refuseUnreadBody(context: ExecutionContext): void {
  if (context.getType() !== 'http') return;
  const req = context.switchToHttp().getRequest<Request>();
  if (req.is('application/json') && hasContent(req.body) && !readsBody(context)) {
    throw new ValidationProblem([{ field: 'body', messages: ['this route takes no request body'] }]);
  }
}

const BODY = `${RouteParamtypes.BODY}:`;

function readsBody(context: ExecutionContext): boolean {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), context.getHandler().name) ?? {}) as Record<string, unknown>;
  return Object.keys(args).some((key) => key.startsWith(BODY));
}

const hasContent = (body: unknown): boolean =>
  body !== undefined && body !== null && !(typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
