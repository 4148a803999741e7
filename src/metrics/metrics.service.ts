import { Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Registry } from 'prom-client';
import { UnauthorizedError } from '../common/errors';
import { APP_CONFIG, type AppConfig } from '../config/app-config';

/**
 * The Prometheus registry of this instance. Modules add their metrics to `registry` (for example
 * a Gauge with `registers: [metrics.registry]` and a `collect()` that reads the database at scrape
 * time, so every instance reports the same figures). Labels never carry customer ids or PII.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** The metrics in Prometheus text format; with METRICS_TOKEN set, only for `Bearer <token>`. */
  async scrape(authorization: string | undefined): Promise<string> {
    if (this.config.metricsToken && !sameSecret(bearerToken(authorization), this.config.metricsToken)) {
      throw new UnauthorizedError('GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>"');
    }
    return this.registry.metrics();
  }
}

function bearerToken(header: string | undefined): string {
  const [scheme, token] = (header ?? '').split(' ');
  return scheme?.toLowerCase() === 'bearer' && token ? token : '';
}

/** Compares digests, so the time taken says nothing about how much of the token matched. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
