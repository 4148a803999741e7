import type { LoggerService } from '@nestjs/common';
import type { RequestHandler } from 'express';
import { performance } from 'node:perf_hooks';
import pino, { Logger as Pino } from 'pino';

/** Keys whose values never reach a log line: at the top of the line, or one level down. */
const SECRET_KEYS = ['password', 'email', 'msisdn', 'body', 'authorization', 'accessToken', 'key'];
const REDACTED = [...SECRET_KEYS, ...SECRET_KEYS.map((key) => `*.${key}`)];

/** The service's logger: JSON lines at LOG_LEVEL, on stdout unless another destination is given. */
export function createLogger(level: string, destination?: pino.DestinationStream): Pino {
  return pino({ level, redact: { paths: REDACTED, censor: '[redacted]' } }, destination);
}

/**
 * Nest's own logging (and every `new Logger(context)` in the code) written through pino, with the
 * calling conventions Nest uses: the context comes last, a first argument that is an object is
 * merged into the line, `error(message, stack, context)` carries a stack.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Pino) {}

  verbose(message: unknown, ...params: unknown[]) { this.write('trace', message, params); }
  debug(message: unknown, ...params: unknown[]) { this.write('debug', message, params); }
  log(message: unknown, ...params: unknown[]) { this.write('info', message, params); }
  warn(message: unknown, ...params: unknown[]) { this.write('warn', message, params); }
  error(message: unknown, ...params: unknown[]) { this.write('error', message, params); }
  fatal(message: unknown, ...params: unknown[]) { this.write('fatal', message, params); }

  private write(level: pino.Level, message: unknown, params: unknown[]): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const line: Record<string, unknown> = {};
    // Nest's Logger appends the context last (and, on error, an undefined stack before it).
    if (params.length > 0) line.context = params.pop();
    const rest = params.filter((p) => p !== undefined);
    if (message instanceof Error) line.err = message;
    else if (typeof message === 'object' && message !== null) Object.assign(line, message);
    else if (level === 'error' && rest.length === 1 && typeof rest[0] === 'string' && rest[0].includes('\n    at ')) {
      line.err = { message: String(message), stack: rest.pop() };
    }
    const text = typeof message === 'object' && message !== null ? rest.shift() : message;
    this.logger[level](line, text === undefined ? undefined : String(text), ...rest);
  }
}

/**
 * One line per request once its answer is sent (or the client went away): request id, method,
 * path, status and time taken. The path only, never the query string or a secret in the path
 * (loggedPath); never headers or bodies. Health probes are not logged. Level by status: 5xx
 * error, 4xx warn, else info.
 *
 * Written directly rather than through pino-http: that builds a child logger, serialisers and a
 * per-request async context for every request, which cost more than a tenth of a registry read.
 */
export function requestLog(logger: Pino): RequestHandler {
  const lines = logger.child({}, { redact: [] }); // the line's fields are chosen here: nothing to redact
  return (req, res, next) => {
    if (req.url.startsWith('/health')) return next();
    const started = performance.now();
    res.once('close', () => {
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!lines.isLevelEnabled(level)) return;
      lines[level](
        { req: { id: (req as { id?: string }).id, method: req.method, path: loggedPath(req.originalUrl) }, res: { statusCode: status }, responseTime: Math.round(performance.now() - started) },
        res.writableFinished ? 'request completed' : 'request aborted',
      );
    });
    next();
  };
}

/**
 * The path a request log line shows: no query string, and no secret that lives in the path (a
 * breach notification's one-click acknowledgement token would let a log reader acknowledge).
 */
export function loggedPath(url: string): string {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  // Routing ignores case, so the token is hidden whatever the case of the path.
  return ACKNOWLEDGEMENT_TOKEN.test(path) ? path.replace(ACKNOWLEDGEMENT_TOKEN, '$1[token]') : path;
}

const ACKNOWLEDGEMENT_TOKEN = /(\/breach-acknowledgements\/)[^/]+/i;
