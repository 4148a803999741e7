import { randomUUID } from 'node:crypto';
import type { IngestResponse } from '../../src/messages/dto/message.dto';
import type { TestApp } from './app';
import { bearer } from './http';

/** A new ingest API key, created through the API by an admin. */
export async function ingestKey(t: TestApp, adminToken: string): Promise<string> {
  const res = await t.http().post('/api/v1/api-keys').set(bearer(adminToken)).send({ name: `ingest ${randomUUID()}`, role: 'ingest' }).expect(201);
  return (res.body as { key: string }).key;
}

let counter = 0;

/** A valid record of POST /api/v1/messages/batch, as the platform sends it; override any field. */
export function wireRecord(customerId: string, route: string[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  return {
    customerId,
    externalId: `wire-${process.pid}-${counter}-${randomUUID().slice(0, 8)}`,
    direction: 'mt',
    msisdn: `+49 1512 ${String(1_000_000 + counter).padStart(7, '0')}`,
    sender: 'ACME',
    body: `Your code is ${100_000 + counter}`,
    route,
    destinationCountry: 'DE',
    status: 'delivered',
    submittedAt: '2026-11-26T11:00:00.000Z',
    ...overrides,
  };
}

export async function postBatch(t: TestApp, key: string, records: unknown[]): Promise<IngestResponse> {
  const res = await t.http().post('/api/v1/messages/batch').set(bearer(key)).send({ records });
  if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${res.text.slice(0, 2000)}`);
  return res.body as IngestResponse;
}
