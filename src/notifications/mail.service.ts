import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer, { Transporter } from 'nodemailer';
import type PgBoss from 'pg-boss';
import { DataSource, EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { scopeQuery } from '../access/scoping';
import { Clock } from '../common/clock';
import { decodeCursor, Page, toPage, isTimeCursor } from '../common/pagination';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { MailQuery, MailResponse } from './dto/mail.dto';
import { Mail } from './mail.entity';
import { MailTemplate } from './mail-template';
import { QueueService } from './queue.service';

const QUEUE = 'mail';
/** Temporary failures are retried with exponential backoff from this delay, this many times. */
const RETRY = { retryLimit: 12, retryBackoff: true };

export interface MailOptions {
  to: string[];
  /** The customer the mail concerns, so its users (and only they) can see it. */
  customerId?: string | null;
  /** What caused the mail, e.g. { type: 'ChangeNotice', id }. */
  about?: { type: string; id: string };
  /** Drop the addresses from the record once delivered or given up (public subscribers). */
  forgetRecipients?: boolean;
  /** An unsubscribe URL that answers a POST: sent as List-Unsubscribe with one-click (RFC 8058). */
  unsubscribeUrl?: string;
}

/**
 * Durable mail: queued in the caller's transaction (with the change that causes it) and sent
 * after the commit by whichever instance claims it. Temporary SMTP failures (4xx, connection
 * errors) are retried with backoff; permanent ones (5xx) are marked failed at once.
 */
@Injectable()
export class MailService implements OnApplicationBootstrap {
  private readonly logger = new Logger(MailService.name);
  private readonly transport: Transporter;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queue: QueueService,
    private readonly clock: Clock,
  ) {
    this.transport = config.smtpUrl
      ? nodemailer.createTransport(`${config.smtpUrl}${config.smtpUrl.includes('?') ? '&' : '?'}connectionTimeout=10000&greetingTimeout=10000&socketTimeout=30000`)
      : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  async onApplicationBootstrap(): Promise<void> {
    // A mail claimed by an instance that died is retried once the claim expires: pg-boss's 15 minutes, 5 s in tests.
    const test = this.config.nodeEnv === 'test';
    await this.queue.createQueue(QUEUE, { ...RETRY, retryDelay: test ? 1 : 30, ...(test ? { expireInSeconds: 5 } : {}) });
    await this.queue.work<{ mailId: string }>(QUEUE, (job) => this.deliver(job));
  }

  /** Renders and queues a mail inside the caller's transaction; returns its id. */
  async enqueue<T>(em: EntityManager, template: MailTemplate<T>, data: T, options: MailOptions): Promise<string> {
    const recipients = [...new Set(options.to.map((a) => a.trim().toLowerCase()))];
    if (recipients.length === 0) throw new Error(`mail ${template.name} has no recipients`);
    const mail = await em.save(em.create(Mail, {
      template: template.name, recipients, subject: template.subject(data), text: template.text(data), html: template.html(data),
      customerId: options.customerId ?? null, subjectType: options.about?.type ?? null, subjectId: options.about?.id ?? null,
      forgetRecipients: options.forgetRecipients ?? false,
      headers: options.unsubscribeUrl ? { 'List-Unsubscribe': `<${options.unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {},
    }));
    await this.queue.send(em, QUEUE, { mailId: mail.id });
    return mail.id;
  }

  async list(actor: Actor, query: MailQuery): Promise<Page<MailResponse>> {
    const before = decodeCursor(query.cursor, isTimeCursor);
    const qb = this.dataSource.getRepository(Mail).createQueryBuilder('m');
    scopeQuery(qb, actor.ability, 'read', 'Notification');
    if (query.status) qb.andWhere('m.status = :status', { status: query.status });
    if (query.template) qb.andWhere('m.template = :template', { template: query.template });
    if (before) qb.andWhere('(m.createdAt, m.id) < (:at, :id)', { at: before[0], id: before[1] });
    const rows = await qb.orderBy('m.createdAt', 'DESC').addOrderBy('m.id', 'DESC').limit(query.limit + 1).getMany();
    return toPage(rows, query.limit, toResponse, (m) => [m.createdAt.toISOString(), m.id]);
  }

  private async deliver(job: PgBoss.JobWithMetadata<{ mailId: string }>): Promise<void> {
    const repo = this.dataSource.getRepository(Mail);
    const mail = await repo.findOneBy({ id: job.data.mailId });
    if (!mail || mail.status !== 'queued') return; // already sent or given up: never twice
    const attempts = mail.attempts + 1;
    try {
      await this.send(mail);
      await repo.update({ id: mail.id }, { status: 'sent', attempts, sentAt: this.clock.now(), lastError: null, ...forgotten(mail) });
    } catch (error) {
      const { permanent, message } = classify(error);
      const exhausted = job.retryCount >= job.retryLimit;
      const done = permanent || exhausted;
      await repo.update({ id: mail.id }, { status: done ? 'failed' : 'queued', attempts, lastError: message, ...(done ? forgotten(mail) : {}) });
      this.logger.warn(`mail ${mail.id} (${mail.template}) attempt ${attempts} failed${permanent ? ' permanently' : ''}: ${message}`);
      if (!permanent && !exhausted) throw error; // pg-boss retries it with backoff
    }
  }

  private async send(mail: Mail): Promise<void> {
    const message = {
      from: this.config.mailFrom,
      to: mail.recipients,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      // Stable per logical mail: a resend after a crash is the same message, not a second one.
      messageId: `<${mail.id}@custodian>`,
      headers: { ...mail.headers, 'X-Custodian-Mail': mail.template },
    };
    const info = (await this.transport.sendMail(message)) as { message?: Buffer; rejected?: unknown[] };
    // Some recipients refused while others took it: not delivered as asked, and not worth a retry.
    if (info.rejected?.length) throw Object.assign(new Error(`${info.rejected.length} of ${mail.recipients.length} recipients refused`), { responseCode: 550 });
    if (!this.config.smtpUrl && info.message) {
      const dir = join(this.config.dataDir, 'mail');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `${mail.id}.eml`), info.message);
    }
  }
}

const forgotten = (mail: Mail): Partial<Mail> => (mail.forgetRecipients ? { recipients: [] } : {});

/** SMTP 5xx is permanent; 4xx, refused connections and time-outs are worth another try. */
function classify(error: unknown): { permanent: boolean; message: string } {
  const e = error as { responseCode?: number; code?: string; message?: string };
  const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500;
  const message = e.responseCode ? `SMTP ${e.responseCode}` : (e.code ?? 'error');
  // Servers quote the refused address in their answer: it goes neither to the log nor the table.
  const detail = (e.message ?? '').replace(/[^\s<>()"',;:]+@[^\s<>()"',;:]+/g, '[address]').slice(0, 200);
  return { permanent, message: `${message}: ${detail}` };
}

function toResponse(m: Mail): MailResponse {
  return {
    id: m.id, template: m.template, recipients: m.recipients, subject: m.subject, status: m.status, attempts: m.attempts,
    lastError: m.lastError, customerId: m.customerId, about: m.subjectType ? { type: m.subjectType, id: m.subjectId } : null,
    createdAt: m.createdAt.toISOString(), sentAt: m.sentAt?.toISOString() ?? null,
  };
}
