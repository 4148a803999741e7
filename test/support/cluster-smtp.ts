import { simpleParser } from 'mailparser';
import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface AcceptedMail {
  to: string[];
  subject: string;
  text: string;
  messageId: string;
  template: string;
  at: Date;
}

/**
 * A real SMTP server that can take its time to answer, as a busy relay does: the answer to each
 * message is held for `holdMs`. A mail counts as accepted only once the 250 went out to a client
 * still connected (RFC 5321: the server takes responsibility with its reply); a client that goes
 * away while waiting — killed — has handed nothing over, and its mail is counted in `abandoned`.
 */
export interface HoldingSmtp {
  url: string;
  accepted: AcceptedMail[];
  /** Message-IDs of mails whose client disconnected before the answer. */
  abandoned: string[];
  /** How long the answer to each message is held; may be changed at any time. */
  holdMs: number;
  /** Messages received in full and waiting for their answer. */
  holding(): number;
  /** Takes the server off the network: connections are refused until `start`. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startHoldingSmtp(holdMs = 0): Promise<HoldingSmtp> {
  const open = new Set<string>();
  let held = 0;
  const create = () => new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(session, callback) {
      open.add(session.id);
      callback();
    },
    onClose(session) {
      open.delete(session.id);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        held++;
        void (async () => {
          const mail = await simpleParser(Buffer.concat(chunks));
          if (smtp.holdMs > 0) await new Promise((r) => setTimeout(r, smtp.holdMs));
          held--;
          const messageId = mail.messageId ?? '';
          if (!open.has(session.id)) {
            smtp.abandoned.push(messageId);
            return;
          }
          smtp.accepted.push({
            to: session.envelope.rcptTo.map((r) => r.address), subject: mail.subject ?? '', text: mail.text ?? '', messageId,
            template: String(mail.headers.get('x-custodian-mail') ?? ''), at: new Date(),
          });
          callback();
        })().catch((error: Error) => callback(error));
      });
    },
  });
  let server = create();
  let running = true;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const smtp: HoldingSmtp = {
    url: `smtp://127.0.0.1:${port}`,
    accepted: [],
    abandoned: [],
    holdMs,
    holding: () => held,
    stop: () => new Promise<void>((resolve) => {
      if (!running) return resolve();
      running = false;
      server.close(() => resolve());
    }),
    async start() {
      if (running) return;
      server = create();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      running = true;
    },
    close: () => smtp.stop(),
  };
  return smtp;
}

/** How many times each Message-ID was accepted. */
export function acceptedCounts(mails: AcceptedMail[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of mails) counts.set(m.messageId, (counts.get(m.messageId) ?? 0) + 1);
  return counts;
}
