import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const SANE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Runs first, before body parsing and routing, so every answer — including a malformed body or an
 * unknown route — carries an X-Request-Id, and logs, problems and audit entries share it. A
 * caller's own id is kept when it is sane, so requests can be traced across services.
 */
export function assignRequestId(req: Request & { id?: string }, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  req.id = typeof given === 'string' && SANE.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', req.id);
  next();
}
