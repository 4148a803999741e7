import type { DecryptedPii } from '../messages/message-store';
import type { Message } from '../messages/message.entity';
import type { SubjectRequestResponse } from './dto/subject-request.dto';

export interface RouteHop {
  subprocessorId: string;
  legalEntity: string | null;
  country: string | null;
}

const DESTROYED_NOTE = {
  msisdn: 'The phone number of this message was destroyed (its retention period ended, or it was erased) and cannot be recovered.',
  body: 'The body of this message was destroyed (its retention period ended, or it was erased) and cannot be recovered.',
};

/**
 * The downloadable answer to an access request: the request and every message of that person of
 * that customer, as the controller needs it to answer the data subject (Art. 15): content, time,
 * direction, status and the sub-processors it went through.
 */
export function exportDocument(
  request: SubjectRequestResponse,
  messages: Message[],
  pii: Map<string, DecryptedPii>,
  hops: Map<string, RouteHop>,
  exportedAt: Date,
): { body: Record<string, unknown>; decryptedValues: { msisdn: number; body: number } } {
  const decryptedValues = { msisdn: 0, body: 0 };
  const items = messages.map((m) => {
    const values = pii.get(m.id) ?? { msisdn: null, body: null };
    const notes: string[] = [];
    for (const category of ['msisdn', 'body'] as const) {
      if (values[category] === null) notes.push(DESTROYED_NOTE[category]);
      else decryptedValues[category] += 1;
    }
    return {
      id: m.id,
      externalId: m.externalId,
      direction: m.direction,
      msisdn: values.msisdn,
      sender: m.sender,
      body: values.body,
      submittedAt: m.submittedAt.toISOString(),
      receivedAt: m.receivedAt.toISOString(),
      status: m.status,
      destinationCountry: m.destinationCountry,
      route: m.route.map((id) => hops.get(id) ?? { subprocessorId: id, legalEntity: null, country: null }),
      ...(notes.length ? { notes } : {}),
    };
  });
  return {
    decryptedValues,
    body: {
      type: 'custodian.data-subject-access-export',
      version: 1,
      exportedAt: exportedAt.toISOString(),
      request,
      note: 'Phone numbers and bodies were decrypted for this download only; Custodian keeps them encrypted and does not store this export. '
        + 'It lists the messages held for this customer at the time of the download; values destroyed under the retention policy or by an erasure appear as null.',
      messageCount: items.length,
      messages: items,
    },
  };
}
