import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Clock } from '../common/clock';
import { TooManyRequestsError } from '../common/errors';

/**
 * Counts login attempts per account and per client address in Postgres, so the limit holds
 * across every instance. Each attempt is counted before the password is checked (an atomic
 * upsert), so parallel guesses cannot slip past the limit; a successful login clears the
 * account's counter and takes its own attempt off the address's.
 */
@Injectable()
export class LoginThrottleService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async attempt(email: string, address: string): Promise<void> {
    const { maxFailuresPerAccount, maxFailuresPerAddress, windowSeconds } = this.config.login;
    const now = this.clock.now();
    for (const [key, max] of [[accountKey(email), maxFailuresPerAccount], [addressKey(address), maxFailuresPerAddress]] as const) {
      const [row] = (await this.dataSource.query(
        `INSERT INTO login_throttle (key, attempts, window_started_at) VALUES ($1, 1, $2)
         ON CONFLICT (key) DO UPDATE SET
           attempts = CASE WHEN login_throttle.window_started_at + make_interval(secs => $3) <= $2 THEN 1 ELSE login_throttle.attempts + 1 END,
           window_started_at = CASE WHEN login_throttle.window_started_at + make_interval(secs => $3) <= $2 THEN $2 ELSE login_throttle.window_started_at END
         RETURNING attempts, window_started_at`,
        [key, now, windowSeconds],
      )) as { attempts: number; window_started_at: Date }[];
      if (row.attempts > max) {
        const retryAfter = Math.max(1, Math.ceil((row.window_started_at.getTime() + windowSeconds * 1000 - now.getTime()) / 1000));
        throw new TooManyRequestsError(retryAfter, 'Too many login attempts; try again later');
      }
    }
  }

  async succeeded(email: string, address: string): Promise<void> {
    await this.dataSource.query('DELETE FROM login_throttle WHERE key = $1', [accountKey(email)]);
    await this.dataSource.query('UPDATE login_throttle SET attempts = greatest(attempts - 1, 0) WHERE key = $1', [addressKey(address)]);
  }
}

/** Hashed so that the table holds no e-mail addresses, including those of people with no account. */
const accountKey = (email: string) => `account:${createHash('sha256').update(email.toLowerCase()).digest('hex')}`;
const addressKey = (address: string) => `address:${address}`;
