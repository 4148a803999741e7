import { Injectable, NestMiddleware } from '@nestjs/common';
import { raw, type NextFunction, type Request, type Response } from 'express';
import { MAX_EVIDENCE_BYTES } from './incident-evidence.service';

/**
 * An evidence upload is the file itself as the raw body, of any media type and up to 25 MB, beyond
 * the global JSON limit. Only this route gets the parser; a larger body is a 413 problem.
 */
@Injectable()
export class IncidentEvidenceBodyMiddleware implements NestMiddleware {
  private readonly parse = raw({ type: () => true, limit: MAX_EVIDENCE_BYTES });

  use(req: Request, res: Response, next: NextFunction): void {
    // Middleware runs before the access guard: an anonymous caller does not get 25 MB read for
    // it (the guard then answers 401). Credentials themselves are checked by the guard.
    if (!/^bearer \S+/i.test(req.headers.authorization ?? '')) return next();
    this.parse(req, res, next);
  }
}
