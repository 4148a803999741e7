import { DataSource } from 'typeorm';
import type { NewMessage, StoreOutcome } from '../../src/messages/message-store';
import { MessageStore } from '../../src/messages/message-store';
import type { TestApp } from './app';

let counter = 0;

/** A valid record for `customerId`; every field can be overridden. */
export function messageRecord(customerId: string, overrides: Partial<NewMessage> = {}): NewMessage {
  counter += 1;
  return {
    customerId,
    externalId: `ext-${process.pid}-${counter}`,
    direction: 'mt',
    msisdn: `+4915${String(10_000_000 + counter).padStart(9, '0')}`,
    sender: 'ACME',
    body: `Your code is ${100_000 + counter}`,
    route: [],
    destinationCountry: 'DE',
    status: 'delivered',
    submittedAt: new Date('2026-11-20T10:00:00Z'),
    ...overrides,
  };
}

/**
 * Stores records straight through the MessageStore (encrypted, as ingestion stores them), for
 * tests of retention and requests that must not depend on the ingestion API.
 */
export async function storeMessages(t: TestApp, records: NewMessage[], receivedAt = new Date()): Promise<StoreOutcome> {
  const store = t.app.get(MessageStore);
  return t.app.get(DataSource).transaction((em) => store.store(em, records, receivedAt));
}
