import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * A body parser with a limit above the global BODY_LIMIT (an ingestion batch, a signed PDF, an
 * evidence file), run only for callers that present a bearer credential: middleware runs before
 * the access guard, and an anonymous caller does not get megabytes read for it (the guard then
 * answers 401). The credential itself is checked by the guard.
 */
export function authenticatedBody(parse: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => (/^bearer \S+/i.test(req.headers.authorization ?? '') ? parse(req, res, next) : next());
}
