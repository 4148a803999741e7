import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { CheckAbility, Public } from '../src/access/access.decorators';
import { AppModule } from '../src/app.module';
import { API_PREFIX, API_PREFIX_EXCLUDE } from '../src/app.setup';
import { createLogger, PinoNestLogger } from '../src/common/logging';
import { createValidationPipe } from '../src/common/validation';
import { loadConfig } from '../src/config/app-config';
import { expressRoutes, registeredRoutes, type RegisteredRoute } from './support/access-routes';
import { ADMIN, startTestApp, type TestApp, testEnv } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';

/*
 * Deny by default (STYLE.md): every route declares @Public() or @CheckAbility(...), read by the one
 * global AccessGuard. These tests walk every route the real application registers.
 */

/** The routes anybody may call without logging in. Adding one is a deliberate change here. */
const PUBLIC_ROUTES = [
  'GET /health', 'GET /health/ready', 'POST /api/v1/auth/login',
  'GET /public/subprocessors', 'GET /public/subprocessors.json', 'GET /public/subprocessors/feed.atom',
  'POST /public/subscriptions', 'GET /public/subscriptions/:id/confirm', 'GET /public/subscriptions/:id/unsubscribe', 'POST /public/subscriptions/:id/unsubscribe',
  // Public keys for verifying deletion certificates offline; Prometheus scraping (METRICS_TOKEN guards it when set).
  'GET /api/v1/retention/signing-keys', 'GET /metrics',
  // The signed, expiring, single-use one-click link in breach notifications: GET asks, POST acknowledges.
  'GET /api/v1/breach-acknowledgements/:token', 'POST /api/v1/breach-acknowledgements/:token',
];

type HandlerRoute = RegisteredRoute;

const handlerRoutes = (app: INestApplication) => {
  const { routes, unmatched } = registeredRoutes(app);
  return { handlers: routes, unmatched };
};

const undeclared = (handlers: HandlerRoute[]) => handlers.filter((h) => !h.isPublic && !h.ability).map((h) => h.route).sort();
const publicRoutes = (handlers: HandlerRoute[]) => handlers.filter((h) => h.isPublic).map((h) => h.route).sort();

/** The OpenAPI UI and documents are mounted on Express directly by SwaggerModule, outside the guard. */
const isOpenApiDocs = (route: string) => /^GET \/docs(\/|-json$|-yaml$|$)/.test(route);

describe('every route of the real application', () => {
  let t: TestApp;
  let handlers: HandlerRoute[];

  beforeAll(async () => {
    t = await startTestApp();
    const found = handlerRoutes(t.app);
    expect(found.unmatched).toEqual([]);
    handlers = found.handlers;
  });
  afterAll(() => t.close());

  it('finds the routes (the enumeration itself works)', () => {
    const routes = handlers.map((h) => h.route);
    expect(routes).toEqual(expect.arrayContaining(['GET /health', 'POST /api/v1/auth/login', 'GET /api/v1/me', 'GET /api/v1/users/:id', 'GET /api/v1/audit/verify']));
    expect(new Set(routes).size).toBe(routes.length);
  });

  it('every Express route is a Nest handler (so it passes the guard) or the OpenAPI docs', () => {
    const viaNest = new Set(handlers.map((h) => h.route));
    expect(expressRoutes(t.app).filter((r) => !viaNest.has(r) && !isOpenApiDocs(r))).toEqual([]);
  });

  it('every handler declares @Public() or @CheckAbility(...)', () => {
    expect(undeclared(handlers)).toEqual([]);
  });

  it('no handler declares both (a public route with an ability rule would silently skip it)', () => {
    expect(handlers.filter((h) => h.isPublic && h.ability).map((h) => h.route)).toEqual([]);
  });

  it('the public routes are exactly the expected ones', () => {
    expect(publicRoutes(handlers)).toEqual([...PUBLIC_ROUTES].sort());
  });

  it('every other route answers an anonymous caller with 401 problem+json', async () => {
    const answers: string[] = [];
    for (const { route } of handlers.filter((h) => !h.isPublic)) {
      const [verb, path] = route.split(' ');
      const url = path.replace(/:[A-Za-z]+/g, '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b');
      const res = await t.http()[verb.toLowerCase() as 'get' | 'post' | 'patch' | 'delete' | 'put'](url);
      answers.push(`${route} -> ${res.status} ${String(res.headers['content-type']).split(';')[0]}`);
    }
    expect(answers).toEqual(handlers.filter((h) => !h.isPublic).map((h) => `${h.route} -> 401 application/problem+json`));
  });

  it('the public routes answer without a login', async () => {
    await t.http().get('/health').expect(200);
    await t.http().get('/health/ready').expect(200);
    await t.http().post('/api/v1/auth/login').send({ email: ADMIN.email, password: ADMIN.password }).expect(200);
  });
});

describe('a route that declares nothing', () => {
  let calls = 0;

  @Controller('undeclared')
  class UndeclaredController {
    @Get()
    leak() {
      calls++;
      return { leaked: true };
    }
  }

  @CheckAbility('read', 'Setting')
  @Controller('class-declared')
  class ClassDeclaredController {
    @Get()
    ok() {
      return { ok: true };
    }
  }

  @Controller('extra-public')
  class ExtraPublicController {
    @Get()
    @Public()
    open() {
      return { open: true };
    }
  }

  let db: TestDatabase;
  let app: NestExpressApplication;
  let handlers: HandlerRoute[];
  let adminToken: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = loadConfig(testEnv(db.url));

    @Module({ controllers: [ClassDeclaredController, ExtraPublicController, UndeclaredController], imports: [AppModule.forRoot(config, db.url)] })
    class AppWithExtraRoutes {}

    // The same wiring as createApp() that matters here: global guard and filter come from the
    // real modules; prefix, body parser and validation as in production.
    app = await NestFactory.create<NestExpressApplication>(AppWithExtraRoutes, { bodyParser: false, bufferLogs: true });
    app.useLogger(new PinoNestLogger(createLogger(config.logLevel)));
    app.useBodyParser('json');
    app.setGlobalPrefix(API_PREFIX, { exclude: API_PREFIX_EXCLUDE });
    app.useGlobalPipes(createValidationPipe());
    await app.init();
    const found = handlerRoutes(app);
    expect(found.unmatched).toEqual([]);
    handlers = found.handlers;
    const res = await request(app.getHttpServer()).post('/api/v1/auth/login').send(ADMIN).expect(200);
    adminToken = (res.body as { accessToken: string }).accessToken;
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('is reported by the same check that passes on the real application', () => {
    expect(undeclared(handlers)).toEqual(['GET /api/v1/undeclared']);
  });

  it('a new public route changes the public set, so it cannot slip in unnoticed', () => {
    expect(publicRoutes(handlers)).toEqual([...PUBLIC_ROUTES, 'GET /api/v1/extra-public'].sort());
  });

  it('is refused with 403 problem+json even for an authenticated admin, and never runs', async () => {
    const res = await request(app.getHttpServer()).get('/api/v1/undeclared').set('Authorization', `Bearer ${adminToken}`);
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'urn:custodian:problem:forbidden', status: 403 });
    expect(calls).toBe(0);
  });

  it('is refused for an anonymous caller too', async () => {
    const res = await request(app.getHttpServer()).get('/api/v1/undeclared');
    expect(res.status).toBe(403);
    expect(calls).toBe(0);
  });

  it('a rule declared on the controller class counts, for the guard and for the check', async () => {
    expect(handlers.find((h) => h.route === 'GET /api/v1/class-declared')?.ability).toEqual({ action: 'read', subject: 'Setting' });
    await request(app.getHttpServer()).get('/api/v1/class-declared').set('Authorization', `Bearer ${adminToken}`).expect(200, { ok: true });
    await request(app.getHttpServer()).get('/api/v1/class-declared').expect(401);
  });
});
