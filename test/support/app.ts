import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { createApp } from '../../src/app.setup';
import { loadConfig } from '../../src/config/app-config';
import { createTestDatabase, TestDatabase } from './database';

export const ADMIN = { email: 'admin@example.test', password: 'correct horse battery staple' };

/** The variables a test app boots with; tests may override any of them. */
export function testEnv(databaseUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: 'test-jwt-secret-that-is-long-enough-0123456789',
    MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    BLIND_INDEX_KEY: Buffer.alloc(32, 8).toString('base64'),
    SIGNING_KEY: Buffer.alloc(32, 9).toString('base64'),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'silent',
    ...overrides,
  };
}

export interface TestApp {
  app: NestExpressApplication;
  db: TestDatabase;
  http: () => ReturnType<typeof request>;
  close(): Promise<void>;
}

/**
 * The real application, in process, on its own fresh database — or, given `shared`, a second
 * instance on another app's database (closing it then leaves the database alone).
 */
export async function startTestApp(overrides: Record<string, string> = {}, shared?: TestDatabase): Promise<TestApp> {
  const db = shared ?? (await createTestDatabase());
  const config = loadConfig(testEnv(db.url, overrides));
  const app = await createApp(config, db.url);
  await app.init();
  return {
    app,
    db,
    http: () => request(app.getHttpServer()),
    close: async () => {
      await app.close();
      if (!shared) await db.drop();
    },
  };
}

export async function login(t: TestApp, email: string, password: string): Promise<string> {
  const res = await t.http().post('/api/v1/auth/login').send({ email, password }).expect(200);
  return (res.body as { accessToken: string }).accessToken;
}

/** Creates a user through the API as the given admin token and returns its id and a token. */
export async function createUser(
  t: TestApp,
  adminToken: string,
  user: { email: string; role: string; customerId?: string; password?: string },
): Promise<{ id: string; token: string }> {
  const password = user.password ?? 'a long enough password 123';
  const res = await t.http().post('/api/v1/users').set('Authorization', `Bearer ${adminToken}`).send({ ...user, password }).expect(201);
  return { id: (res.body as { id: string }).id, token: await login(t, user.email, password) };
}
