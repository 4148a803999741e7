import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull, LessThan, Not } from 'typeorm';
import type { Actor } from '../access/ability';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { NotFoundError } from '../common/errors';
import { isUuid } from '../common/ids';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { JobsService } from '../jobs/jobs.service';
import { MailService } from '../notifications/mail.service';
import { SubscribeDto, SubscriberCountsResponse, SubscriptionRequestedResponse } from './dto/subscription.dto';
import { confirmedPage, notSubscribedPage, subscriptionRequestedPage, unsubscribedPage, unsubscribePromptPage } from './public-pages';
import { FixedWindowLimiter } from './rate-limit';
import { Subscriber } from './subscriber.entity';
import { subprocessorChangeMail, subscriptionConfirmMail } from './subscription-mail';
import { SubscriptionTokens, TokenPurpose } from './subscription-tokens';
import { DAY_MS } from '../common/time';

/** What the public may know of a sub-processor change: public fields only. */
export interface PublicChange {
  noticeId: string;
  subprocessorName: string;
  kind: 'new_subprocessor' | 'material_change';
  summary: string;
  effectiveAt: Date;
}

/** An unconfirmed address is kept this long, then forgotten (and its confirmation link stops working). */
export const CONFIRM_WITHIN_DAYS = 7;
/** A pending address is sent another confirmation link at most this often, however often it is entered. */
const RESEND_AFTER_MINUTES = 10;

/**
 * Public subscriptions to sub-processor changes, with double opt-in. The answer to a subscription
 * request never tells whether the address was known. Audit entries are the system's (there is no
 * logged-in actor) and never carry the address.
 */
@Injectable()
export class SubscribersService implements OnModuleInit {
  private readonly tokens: SubscriptionTokens;
  /** Per client address: a nicety against one client filling the table; the real guard is the opt-in. */
  private readonly limiter = new FixedWindowLimiter(20, 15 * 60);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly mail: MailService,
    private readonly clock: Clock,
    private readonly jobs: JobsService,
  ) {
    this.tokens = new SubscriptionTokens(config.jwtSecret);
  }

  onModuleInit(): void {
    this.jobs.register({
      name: 'public-subscribers-cleanup',
      schedule: '17 3 * * *',
      description: `Deletes subscriptions not confirmed within ${CONFIRM_WITHIN_DAYS} days`,
      run: async ({ now }) => ({ deleted: await this.deleteUnconfirmed(now) }),
    });
  }

  /** Answers the same whatever the address's state; only mails differ. */
  async subscribe(dto: SubscribeDto, client: { ip: string; html: boolean }): Promise<SubscriptionRequestedResponse | string> {
    this.limiter.take(client.ip);
    const email = dto.email.trim().toLowerCase();
    const now = this.clock.now();
    await this.dataSource.transaction(async (em) => {
      // A stale pending row would make a new confirmation link useless: start over with a fresh id.
      const stale = await em.delete(Subscriber, { email, confirmedAt: IsNull(), createdAt: LessThan(staleBefore(now)) });
      if (stale.affected) await this.audit.record(em, null, { action: 'subscriber.expired', subjectType: 'Subscriber', changes: { count: stale.affected } });
      const inserted = (await em.query(
        'INSERT INTO public_subscribers (email) VALUES ($1) ON CONFLICT (email) DO NOTHING RETURNING id',
        [email],
      )) as { id: string }[];
      if (inserted.length > 0) {
        await this.audit.record(em, null, { action: 'subscriber.subscribed', subjectType: 'Subscriber', subjectId: inserted[0].id });
        await this.sendConfirmation(em, inserted[0].id, email);
        return;
      }
      const existing = await em.findOne(Subscriber, { where: { email }, lock: { mode: 'pessimistic_write' } });
      if (!existing || existing.confirmedAt) return; // confirmed already: nothing to send, nothing to say
      if (!(await this.confirmationSentSince(em, existing.id, new Date(now.getTime() - RESEND_AFTER_MINUTES * 60_000)))) {
        await this.sendConfirmation(em, existing.id, email);
      }
    });
    return client.html
      ? subscriptionRequestedPage()
      : { status: 'confirmation-sent', message: 'If the address can receive mail, a link to confirm the subscription has been sent to it.' };
  }

  async confirm(id: string, token: string | undefined): Promise<string> {
    const subscriber = await this.dataSource.transaction(async (em) => {
      const row = await this.loadWithToken(em, 'confirm', id, token);
      if (!row || (!row.confirmedAt && row.createdAt < staleBefore(this.clock.now()))) throw new NotFoundError('Subscription');
      if (!row.confirmedAt) {
        row.confirmedAt = this.clock.now();
        await em.update(Subscriber, { id: row.id }, { confirmedAt: row.confirmedAt });
        await this.audit.record(em, null, { action: 'subscriber.confirmed', subjectType: 'Subscriber', subjectId: row.id });
      }
      return row;
    });
    return confirmedPage(`unsubscribe?token=${encodeURIComponent(this.tokens.sign('unsubscribe', subscriber.id))}`);
  }

  /** GET: asks first, since mail scanners follow links; the POST (or RFC 8058 one-click) unsubscribes. */
  async unsubscribePrompt(id: string, token: string | undefined): Promise<string> {
    const row = await this.loadWithToken(this.dataSource.manager, 'unsubscribe', id, token);
    return row ? unsubscribePromptPage(token!) : notSubscribedPage();
  }

  async unsubscribe(id: string, token: string | undefined): Promise<string> {
    await this.dataSource.transaction(async (em) => {
      const row = await this.loadWithToken(em, 'unsubscribe', id, token);
      if (!row) return; // unsubscribed before: the same answer, nothing to do
      await em.delete(Subscriber, { id: row.id });
      await this.audit.record(em, null, { action: 'subscriber.unsubscribed', subjectType: 'Subscriber', subjectId: row.id });
    });
    return unsubscribedPage();
  }

  /**
   * Mails every confirmed subscriber about a change, in the caller's transaction (so the mails
   * exist if and only if the notice does). Returns how many mails were queued.
   */
  async notifyChange(em: EntityManager, change: PublicChange): Promise<number> {
    const subscribers = await em.find(Subscriber, { select: { id: true, email: true }, where: { confirmedAt: Not(IsNull()) }, order: { createdAt: 'ASC' } });
    for (const s of subscribers) {
      const unsubscribeUrl = this.link('unsubscribe', s.id);
      await this.mail.enqueue(em, subprocessorChangeMail, { change, pageUrl: this.pageUrl(), unsubscribeUrl }, {
        to: [s.email], about: { type: 'ChangeNotice', id: change.noticeId }, forgetRecipients: true, unsubscribeUrl,
      });
    }
    return subscribers.length;
  }

  async counts(_actor: Actor): Promise<SubscriberCountsResponse> {
    const [row] = (await this.dataSource.query(
      'SELECT count(*) FILTER (WHERE confirmed_at IS NOT NULL)::int AS confirmed, count(*) FILTER (WHERE confirmed_at IS NULL)::int AS pending FROM public_subscribers',
    )) as SubscriberCountsResponse[];
    return row;
  }

  /** Forgets addresses that were never confirmed (storage limitation); one audit entry per run. */
  async deleteUnconfirmed(now: Date): Promise<number> {
    return this.dataSource.transaction(async (em) => {
      const result = await em.delete(Subscriber, { confirmedAt: IsNull(), createdAt: LessThan(staleBefore(now)) });
      const deleted = result.affected ?? 0;
      if (deleted > 0) await this.audit.record(em, null, { action: 'subscriber.expired', subjectType: 'Subscriber', changes: { count: deleted } });
      return deleted;
    });
  }

  /** The row, if the token is the one we issued for it; a forged token is a 404 whether or not the id exists. */
  private async loadWithToken(em: EntityManager, purpose: TokenPurpose, id: string, token: string | undefined): Promise<Subscriber | null> {
    if (!isUuid(id) || !this.tokens.verify(purpose, id, token)) throw new NotFoundError('Subscription');
    return em.findOne(Subscriber, { where: { id }, ...(em.queryRunner?.isTransactionActive ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
  }

  private async sendConfirmation(em: EntityManager, id: string, email: string): Promise<void> {
    await this.mail.enqueue(em, subscriptionConfirmMail, {
      confirmUrl: this.link('confirm', id), unsubscribeUrl: this.link('unsubscribe', id), pageUrl: this.pageUrl(),
    }, { to: [email], about: { type: 'Subscriber', id }, forgetRecipients: true });
  }

  private async confirmationSentSince(em: EntityManager, id: string, since: Date): Promise<boolean> {
    const rows = (await em.query(
      'SELECT 1 FROM mails WHERE template = $1 AND subject_type = $2 AND subject_id = $3 AND created_at > $4 LIMIT 1',
      [subscriptionConfirmMail.name, 'Subscriber', id, since],
    )) as unknown[];
    return rows.length > 0;
  }

  private link(purpose: TokenPurpose, id: string): string {
    return `${this.config.publicBaseUrl}/public/subscriptions/${id}/${purpose}?token=${this.tokens.sign(purpose, id)}`;
  }

  private pageUrl(): string {
    return `${this.config.publicBaseUrl}/public/subprocessors`;
  }
}

const staleBefore = (now: Date) => new Date(now.getTime() - CONFIRM_WITHIN_DAYS * DAY_MS);
