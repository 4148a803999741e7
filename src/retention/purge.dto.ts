import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQuery } from '../common/pagination';
import { PURGE_RUN_STATUSES, type PurgeRunStatus } from './purge-run.entity';

export class PurgeRunQuery extends PageQuery {
  @ApiPropertyOptional({ enum: PURGE_RUN_STATUSES })
  @IsOptional()
  @IsIn(PURGE_RUN_STATUSES)
  status?: PurgeRunStatus;
}

export class PurgeRunResponse {
  id: string;
  @ApiProperty({ enum: ['schedule', 'manual'] })
  trigger: string;
  @ApiProperty({ enum: PURGE_RUN_STATUSES })
  status: string;
  startedAt: string;
  finishedAt: string | null;
  /** Data keys destroyed (crypto-shredding). */
  keysDestroyed: number;
  /** Values made unreadable by those keys: each phone number and each body counts once. */
  messagesDestroyed: number;
  /** Held values re-encrypted under a hold key before their day key was destroyed. */
  messagesRekeyed: number;
  /** Values whose destroyed ciphertext was cleared (storage reclaimed). */
  messagesReclaimed: number;
  /** Messages deleted because their delivery metadata expired. */
  messagesDeleted: number;
  certificatesIssued: number;
  /** The longest any key this run destroyed stayed readable past its expiry (or its hold's release), in ms. */
  maxLagMs: number | null;
  error: string | null;
}

export class PurgeRunCertificate {
  id: string;
  customerId: string;
}

export class PurgeRunDetail extends PurgeRunResponse {
  /** The deletion certificates issued under this run's id (one per customer). */
  @ApiProperty({ type: [PurgeRunCertificate] })
  certificates: PurgeRunCertificate[];
}

export class PurgeRunPage {
  @ApiProperty({ type: [PurgeRunResponse] })
  items: PurgeRunResponse[];
  nextCursor: string | null;
}

export class PurgeLag {
  /** How long the oldest expired, unheld, still readable data has been readable past its expiry; 0 when none. */
  currentSeconds: number;
  /** Its expiry (or the release of the hold that kept it), null when none. */
  oldestUnpurgedSince: string | null;
  /** The worst lag of the last 24 hours: of the keys destroyed in that time, and the current one. */
  worstLast24hSeconds: number;
  /** PURGE_LAG_TARGET_SECONDS. */
  targetSeconds: number;
  /** Whether the worst lag of the last 24 hours stayed within the target. */
  targetMet: boolean;
}

export class PurgeStatusResponse {
  /** The moment the figures refer to. */
  at: string;
  lag: PurgeLag;
  /** The most recent run, whatever its outcome (or null before the first). */
  lastRun: PurgeRunResponse | null;
  /** When a run last succeeded. */
  lastSucceededAt: string | null;
  /** The purge job's schedule (PURGE_SCHEDULE, cron, UTC). */
  schedule: string;
}
