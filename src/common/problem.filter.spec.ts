import { Logger } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import { QueryFailedError, QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { ProblemFilter } from './problem.filter';

/** The answer the filter writes for `exception`: status and problem body. */
function answerTo(exception: unknown): { status: number; body: { type: string; status: number } } {
  const written = { status: 0, body: '' };
  const res = {
    headersSent: false,
    getHeader: () => undefined,
    setHeader: () => undefined,
    status(code: number) { written.status = code; return this; },
    type() { return this; },
    send(body: string) { written.body = body; return this; },
  };
  const req = { originalUrl: '/api/v1/api-keys', id: 'r-1' };
  const host = { switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }) } as unknown as ArgumentsHost;
  new ProblemFilter().catch(exception, host);
  return { status: written.status, body: JSON.parse(written.body) as { type: string; status: number } };
}

describe('ProblemFilter and database failures', () => {
  beforeAll(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterAll(() => jest.restoreAllMocks());

  it.each([
    ['the server shutting down (57P01)', Object.assign(new QueryFailedError('SELECT 1', [], new Error('terminating connection due to administrator command')), { code: '57P01' })],
    ['a connection the driver lost', new Error('Connection terminated unexpectedly')],
    ['a client the pool closed', new Error('Client was closed and is not queryable')],
    ["a transaction whose query runner TypeORM released when its connection failed (through the manager)", new QueryRunnerProviderAlreadyReleasedError()],
    ["a transaction whose query runner TypeORM released when its connection failed (through a query builder)", new QueryRunnerAlreadyReleasedError()],
  ])('answers 503 problem+json for %s', (_, exception) => {
    expect(answerTo(exception)).toEqual({ status: 503, body: expect.objectContaining({ type: 'urn:custodian:problem:service-unavailable', status: 503 }) });
  });

  it.each([['a deadlock (40P01)', '40P01'], ['a serialization failure (40001)', '40001']])('answers 503 problem+json for %s: the transaction was rolled back and may be retried', (_, code) => {
    const exception = Object.assign(new QueryFailedError('INSERT INTO data_keys …', [], new Error('deadlock detected')), { code });
    const answer = answerTo(exception);
    expect(answer).toEqual({ status: 503, body: expect.objectContaining({ type: 'urn:custodian:problem:service-unavailable', status: 503 }) });
    expect(JSON.stringify(answer.body)).not.toContain('data_keys');
  });

  it('answers 500 for anything else, saying nothing about it', () => {
    const answer = answerTo(new Error('Cannot read properties of undefined'));
    expect(answer).toEqual({ status: 500, body: expect.objectContaining({ type: 'urn:custodian:problem:internal', status: 500 }) });
    expect(JSON.stringify(answer.body)).not.toContain('Cannot read');
  });
});
