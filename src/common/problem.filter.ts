import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger, NotFoundException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { QueryFailedError, QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { DomainError } from './errors';

export const PROBLEM_TYPE_BASE = 'urn:custodian:problem:';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId?: string;
  [extra: string]: unknown;
}

const SLUGS: Record<number, [string, string]> = {
  400: ['bad-request', 'Bad request'],
  401: ['unauthorized', 'Unauthorized'],
  403: ['forbidden', 'Forbidden'],
  404: ['not-found', 'Not found'],
  405: ['method-not-allowed', 'Method not allowed'],
  408: ['request-timeout', 'Request timeout'],
  409: ['conflict', 'Conflict'],
  413: ['payload-too-large', 'Payload too large'],
  415: ['unsupported-media-type', 'Unsupported media type'],
  429: ['too-many-requests', 'Too many requests'],
  431: ['request-header-fields-too-large', 'Request header fields too large'],
  503: ['service-unavailable', 'Service unavailable'],
};

/** Connection-level failures that mean "the database is not there right now", not a bug. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '53300', '08000', '08003', '08006']);

/**
 * The one place errors become HTTP answers: RFC 9457 application/problem+json with a stable
 * type. A 500 says nothing about its cause (no stack, SQL or values); the log has the details
 * keyed by request id, without the driver's `detail`, which can hold row values.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    const problem = this.toProblem(exception, req);
    if (res.headersSent) return;
    if (exception instanceof DomainError) for (const [k, v] of Object.entries(exception.headers)) res.setHeader(k, v);
    if (problem.status === 401 && !res.getHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', 'Bearer');
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown, req: Request & { id?: string }): Problem {
    const base = { instance: req.originalUrl?.split('?')[0] ?? '', requestId: req.id ? String(req.id) : undefined };
    if (exception instanceof DomainError) {
      return { type: PROBLEM_TYPE_BASE + exception.slug, title: exception.title, status: exception.status, detail: exception.message, ...base, ...exception.extra };
    }
    if (exception instanceof NotFoundException) {
      // Only Nest's router throws this (services throw NotFoundError). Its "Cannot GET /path?query"
      // would echo the query string, which may carry personal data.
      return this.fromStatus(404, `No route for ${req.method} ${base.instance}`, base);
    }
    if (exception instanceof HttpException) return this.fromStatus(exception.getStatus(), httpDetail(exception), base);
    const bodyParser = exception as { status?: number; type?: string; expose?: boolean; message?: string };
    if (typeof bodyParser?.status === 'number' && bodyParser.expose && bodyParser.status < 500) {
      // Body-parser errors that Nest does not wrap (it wraps malformed JSON as a BadRequestException).
      const detail = bodyParser.type === 'entity.too.large' ? 'The request body is larger than this endpoint accepts' : String(bodyParser.message);
      return this.fromStatus(bodyParser.status, detail, base);
    }
    const code = (exception as { code?: string })?.code;
    // A concurrent insert that lost a uniqueness race: the same answer as the service's own check.
    if (code === '23505') return this.fromStatus(409, 'A record with these values already exists', base);
    // Text PostgreSQL cannot store (a NUL character, invalid encoding) is bad input, not a fault.
    if (code === '22021' || code === '22P05') return this.fromStatus(400, 'The request contains characters that cannot be stored', base);
    // A value that got past validation but that PostgreSQL cannot read as its type (a safety net).
    if (code === '22P02' || code === '22007' || code === '22008') return this.fromStatus(400, 'The request contains a value of the wrong form', base);
    // A deadlock or serialization failure rolled the whole transaction back: nothing was kept, and
    // the same request may simply be sent again.
    if (code === '40P01' || code === '40001') {
      this.logger.warn({ requestId: base.requestId, code }, `transaction rolled back by the database (${code}) for request ${base.requestId}`);
      return this.fromStatus(503, 'The request collided with a concurrent one and nothing was kept; send it again', base);
    }
    if ((code && UNAVAILABLE_CODES.has(code)) || isConnectionError(exception)) {
      const cause = code ?? (exception instanceof Error ? exception.name : 'connection');
      this.logger.warn({ requestId: base.requestId }, `database unavailable (${cause}) for request ${base.requestId}`);
      return this.fromStatus(503, 'The database is unavailable; retry shortly', base);
    }
    this.logger.error(
      { requestId: base.requestId, error: exception instanceof Error ? exception.name : typeof exception, code, stack: exception instanceof Error ? exception.stack?.split('\n').slice(1).join('\n') : undefined,
        message: exception instanceof QueryFailedError ? 'query failed' : exception instanceof Error ? exception.message : undefined },
      'unhandled error',
    );
    return { type: PROBLEM_TYPE_BASE + 'internal', title: 'Internal server error', status: 500, detail: 'An unexpected error occurred; quote the requestId when reporting it', ...base };
  }

  private fromStatus(status: number, detail: string, base: { instance: string; requestId?: string }): Problem {
    const [slug, title] = SLUGS[status] ?? [status >= 500 ? 'internal' : 'bad-request', HttpStatus[status] ?? 'Error'];
    return { type: PROBLEM_TYPE_BASE + slug, title, status, detail, ...base };
  }
}

function httpDetail(e: HttpException): string {
  const body = e.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  return Array.isArray(message) ? message.join('; ') : String(message ?? e.message);
}

function isConnectionError(e: unknown): boolean {
  // TypeORM releases a transaction's query runner itself when its connection fails (e.g. PostgreSQL
  // restarting): the transaction's next query then throws one of these instead of the driver's error.
  if (e instanceof QueryRunnerAlreadyReleasedError || e instanceof QueryRunnerProviderAlreadyReleasedError) return true;
  const message = e instanceof Error ? e.message : '';
  return /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable/i.test(message);
}

/**
 * Requests Node's HTTP parser refuses (a URL or headers over its size limit, a malformed request
 * line) never reach Express; they get a problem+json answer too, instead of Node's empty one.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex & { _httpMessage?: { headersSent?: boolean } }) => {
    // As Node's own handler: nothing is written over a response already under way on this connection.
    if (error.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent) return void socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const detail = { 400: 'The request is not valid HTTP', 408: 'The request did not arrive in time', 431: 'The request line or headers are larger than this service accepts' }[status];
    const [slug, title] = SLUGS[status];
    const body = JSON.stringify({ type: PROBLEM_TYPE_BASE + slug, title, status, detail });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}
