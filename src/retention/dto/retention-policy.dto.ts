import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { DATA_CATEGORIES, type DataCategory } from '../../dpas/dpa.entity';

export const RETENTION_SOURCES = ['customer_policy', 'default', 'dpa_maximum', 'none', 'delivery_metadata'] as const;
export type RetentionSource = (typeof RETENTION_SOURCES)[number];

export class RetentionDaysDto {
  @ApiProperty({ description: 'whole UTC days after the day of submission; at least RETENTION_MIN_DAYS, at most the active DPA\'s maximum', example: 30 })
  // The lower bound is configuration (RETENTION_MIN_DAYS): the service checks it and names it.
  @IsInt()
  @Max(3650)
  days: number;
}

export class CategoryParams {
  @ApiProperty({ enum: DATA_CATEGORIES })
  @IsIn(DATA_CATEGORIES)
  category: DataCategory;
}

export class CustomerCategoryParams extends CategoryParams {
  @IsString()
  customerId: string;
}

export class RetentionPolicyQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'only this customer\'s own policies' })
  @IsOptional()
  @IsUUID()
  customerId?: string;
}

export class RetentionPolicyResponse {
  id: string;
  /** Null for the default policy. */
  customerId: string | null;
  @ApiProperty({ enum: DATA_CATEGORIES })
  category: string;
  days: number;
  updatedAt: string;
}

export class RetentionPolicyPage {
  @ApiProperty({ type: [RetentionPolicyResponse] })
  items: RetentionPolicyResponse[];
  nextCursor: string | null;
}

export class EffectiveRetention {
  @ApiProperty({ enum: DATA_CATEGORIES })
  category: string;
  /** The retention the purge applies; null: kept without limit (no policy at all). */
  days: number | null;
  /** Where `days` comes from: the customer's own policy, the default, or the DPA's maximum capping either. */
  @ApiProperty({ enum: RETENTION_SOURCES })
  source: RetentionSource;
  customerPolicyDays: number | null;
  defaultDays: number | null;
  /** The active DPA's maximum for this category; null without an active DPA. */
  dpaMaximumDays: number | null;
  /** The oldest UTC day (YYYY-MM-DD) whose data is still within retention today. */
  oldestRetainedDay: string | null;
}

export class RetentionDpaRef {
  id: string;
  version: number;
}

export class CustomerRetentionResponse {
  customerId: string;
  /** The moment the figures are for. */
  at: string;
  /** The shortest retention any policy may have (RETENTION_MIN_DAYS). */
  minimumDays: number;
  /** The DPA in force, whose maximums cap the retention. */
  dpa: RetentionDpaRef | null;
  @ApiProperty({ type: [EffectiveRetention] })
  categories: EffectiveRetention[];
}
