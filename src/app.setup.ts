import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { json, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { AuthService } from './access/auth.service';
import { ReplyMemo } from './access/reply-memo';
import { AppModule } from './app.module';
import { authenticatedBody } from './common/authenticated-body';
import { Clock } from './common/clock';
import { createLogger, PinoNestLogger, requestLog } from './common/logging';
import { answerClientErrors } from './common/problem.filter';
import { SharedRepliesAdapter } from './common/shared-replies';
import { assignRequestId } from './common/request-id';
import { ReadCache } from './common/read-cache';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';

export const API_PREFIX = 'api/v1';
/** Routes served outside /api/v1: health probes, and the public sub-processor pages at /public/…. */
export const API_PREFIX_EXCLUDE = ['health', 'health/ready', 'metrics', 'public/{*path}'];

/**
 * A lone UTF-16 surrogate (a "\ud800" escape) is not text: e-mail validation throws on it and
 * PostgreSQL would store U+FFFD in its place. A body holding one is refused like malformed JSON.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
function wellFormedText(key: string, value: unknown): unknown {
  if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) throw new SyntaxError('lone surrogate in a string');
  return value;
}

/** The JSON parser's own message quotes the body, which may hold credentials or personal data. */
function hideMalformedBody(err: { type?: string } | undefined, _req: unknown, _res: unknown, next: (e?: unknown) => void) {
  if (err?.type !== 'entity.parse.failed') return next(err);
  next(Object.assign(new Error('The request body is not valid JSON'), { status: 400, expose: true, type: err.type }));
}

/** Builds the application exactly as production runs it; tests use this too. */
export async function createApp(config: AppConfig, databaseUrl: string): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, databaseUrl), new SharedRepliesAdapter(), {
    bodyParser: false,
    bufferLogs: true,
  });
  const logger = createLogger(config.logLevel);
  app.useLogger(new PinoNestLogger(logger));
  app.set('trust proxy', config.trustProxyHops);
  app.disable('x-powered-by');
  answerClientErrors(app.getHttpServer());
  // Order matters: request id, log line and security headers first, so even a refused body gets all three.
  app.use(assignRequestId);
  app.use(requestLog(logger));
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: { 'script-src': ["'self'"], 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] },
      },
    }),
  );
  // A repeated authenticated read of the registry is answered without routing (see ReplyMemo):
  // what is registered after this line does not run for such a replay.
  app.use(new ReplyMemo(app.get(AuthService), app.get(ReadCache), app.get(Clock)).middleware);
  // The ingestion batch alone takes INGEST_BODY_LIMIT, and only from a caller with a credential
  // (the guard checks it); everything else, and anonymous callers, stay under BODY_LIMIT.
  const ingestJson = authenticatedBody(json({ limit: config.ingestBodyLimit }));
  app.use(`/${API_PREFIX}/messages/batch`, (req: Request, res: Response, next: NextFunction) =>
    req.method === 'POST' && req.path === '/' ? ingestJson(req, res, next) : next());
  // An incident's evidence upload reads its own body, of any media type (see IncidentsModule).
  const evidenceUpload = new RegExp(`^/${API_PREFIX}/incidents/[^/]+/evidence/?$`);
  app.useBodyParser('json', {
    limit: config.bodyLimit,
    reviver: wellFormedText,
    type: (req: Request) => !(req.method === 'POST' && evidenceUpload.test(req.path)) && !!req.is('application/json'),
  });
  app.use(hideMalformedBody);
  app.setGlobalPrefix(API_PREFIX, { exclude: API_PREFIX_EXCLUDE });
  app.useGlobalPipes(createValidationPipe());
  setupOpenApi(app);
  return app;
}

function setupOpenApi(app: INestApplication) {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Custodian')
      .setDescription('GDPR governance for a business-messaging processor: sub-processors, DPAs, retention, purge, breach notification. Errors are RFC 9457 application/problem+json.')
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'a JWT from POST /api/v1/auth/login, or an API key' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}
