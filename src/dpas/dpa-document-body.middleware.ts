import { Injectable, NestMiddleware } from '@nestjs/common';
import { raw, type NextFunction, type Request, type Response } from 'express';
import { MAX_DOCUMENT_BYTES, PDF } from './dpa-documents.service';

/**
 * The document upload takes a raw PDF body of up to 10 MB, beyond the global JSON limit. Only
 * this route gets the parser; a larger body is a 413 problem, another media type is left unread
 * (and refused with 415 by the service).
 */
@Injectable()
export class DpaDocumentBodyMiddleware implements NestMiddleware {
  private readonly parse = raw({ type: PDF, limit: MAX_DOCUMENT_BYTES });

  use(req: Request, res: Response, next: NextFunction): void {
    // Middleware runs before the access guard: an anonymous caller does not get 10 MB read for
    // it (the guard then answers 401). Credentials themselves are checked by the guard.
    if (!/^bearer \S+/i.test(req.headers.authorization ?? '')) return next();
    this.parse(req, res, next);
  }
}
