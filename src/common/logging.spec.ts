import { ConsoleLogger, Logger } from '@nestjs/common';
import express from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createLogger, loggedPath, PinoNestLogger, requestLog } from './logging';

/** A logger whose JSON lines land in an array. */
function capture(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('request log paths', () => {
  it('keep the path, drop the query string and hide acknowledgement tokens', () => {
    expect(loggedPath('/api/v1/messages?msisdn=%2B4917012345')).toBe('/api/v1/messages');
    const token = '3f0c9b8e-2a4d-4c1e-9f7a-5b6c7d8e9f01.1797000000.q3Xk5b1kR3mQ2Zl3p0aK1r8w7v6u5t4s3r2q1p0o9n8';
    expect(loggedPath(`/api/v1/breach-acknowledgements/${token}`)).toBe('/api/v1/breach-acknowledgements/[token]');
    expect(loggedPath(`/api/v1/breach-acknowledgements/${token}?x=1`)).toBe('/api/v1/breach-acknowledgements/[token]');
    expect(loggedPath(`/API/v1/Breach-Acknowledgements/${token}`)).toBe('/API/v1/Breach-Acknowledgements/[token]');
    expect(loggedPath('/api/v1/breach-notifications/3f0c9b8e-2a4d-4c1e-9f7a-5b6c7d8e9f01/acknowledgement')).toBe('/api/v1/breach-notifications/3f0c9b8e-2a4d-4c1e-9f7a-5b6c7d8e9f01/acknowledgement');
  });
});

describe('Nest logging through pino', () => {
  const { logger, lines } = capture();
  beforeAll(() => Logger.overrideLogger(new PinoNestLogger(logger)));
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));
  beforeEach(() => (lines.length = 0));

  it('writes a Logger call as one line with its context, merging a first argument that is an object', () => {
    new Logger('Errors').error({ requestId: 'r-1', code: '57P01' }, 'unhandled error');
    new Logger('Jobs').log('purge finished');
    expect(lines).toEqual([
      expect.objectContaining({ level: 50, context: 'Errors', requestId: 'r-1', code: '57P01', msg: 'unhandled error' }),
      expect.objectContaining({ level: 30, context: 'Jobs', msg: 'purge finished' }),
    ]);
  });

  it("keeps the stack Nest's own handlers pass as a second argument, and an Error given as the message", () => {
    new Logger('ExceptionsHandler').error('boom', 'Error: boom\n    at somewhere (file.js:1:1)');
    new Logger('Boot').error(new Error('no database'));
    expect(lines[0]).toMatchObject({ level: 50, context: 'ExceptionsHandler', msg: 'boom', err: { stack: 'Error: boom\n    at somewhere (file.js:1:1)' } });
    expect(lines[1]).toMatchObject({ level: 50, context: 'Boot', err: { message: 'no database' } });
  });

  it('redacts credentials and personal data at the top of a line and one level down, and drops lines under the level', () => {
    new Logger('Users').log({ user: { email: 'someone@example.test', role: 'dpo' }, input: { password: 'hunter22', msisdn: '+4917012345' } }, 'created');
    new Logger('Users').warn({ email: 'other@example.test', key: 'ck_live_secret', requestId: 'r-2' }, 'refused');
    new Logger('Users').debug('not at info');
    expect(lines).toHaveLength(2);
    expect(JSON.stringify(lines)).not.toMatch(/someone@|other@|hunter22|4917012345|ck_live_secret/);
    expect(lines[0]).toMatchObject({ user: { email: '[redacted]', role: 'dpo' }, input: { password: '[redacted]', msisdn: '[redacted]' } });
    expect(lines[1]).toMatchObject({ email: '[redacted]', key: '[redacted]', requestId: 'r-2', msg: 'refused' });
  });
});

describe('requestLog', () => {
  it('writes one line per answered request: id, method, path without the query, status and time; none for health probes', async () => {
    const { logger, lines } = capture();
    const app = express();
    app.use((req, _res, next) => ((req as { id?: string }).id = 'req-7', next()));
    app.use(requestLog(logger));
    app.get('/health', (_req, res) => void res.send('ok'));
    app.get('/api/v1/things', (_req, res) => void res.json([]));
    app.get('/api/v1/broken', (_req, res) => void res.status(503).json({}));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const path of ['/health', '/api/v1/things?msisdn=%2B4917012345', '/api/v1/broken', '/api/v1/missing']) await (await fetch(base + path)).text();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      server.close();
    }
    expect(lines.map(({ level, msg, req, res }) => ({ level, msg, req, res }))).toEqual([
      { level: 30, msg: 'request completed', req: { id: 'req-7', method: 'GET', path: '/api/v1/things' }, res: { statusCode: 200 } },
      { level: 50, msg: 'request completed', req: { id: 'req-7', method: 'GET', path: '/api/v1/broken' }, res: { statusCode: 503 } },
      { level: 40, msg: 'request completed', req: { id: 'req-7', method: 'GET', path: '/api/v1/missing' }, res: { statusCode: 404 } },
    ]);
    expect(lines.every((line) => typeof line.responseTime === 'number')).toBe(true);
  });
});
