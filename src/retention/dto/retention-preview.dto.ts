import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { DATA_CATEGORIES } from '../../dpas/dpa.entity';

export class RetentionPreviewQuery {
  @ApiPropertyOptional({ description: 'only this customer' })
  @IsOptional()
  @IsUUID()
  customerId?: string;
}

export class PreviewDays {
  /** First and last UTC day (YYYY-MM-DD) concerned. */
  from: string;
  to: string;
}

export class PreviewCategory {
  @ApiProperty({ enum: DATA_CATEGORIES })
  category: string;
  /**
   * msisdn, body: expired data keys the purge would destroy (a key whose every value is held
   * stays). delivery_metadata: null (rows are deleted, not keys).
   */
  keys: number | null;
  /** msisdn, body: readable values that would become unreadable; delivery_metadata: message rows that would be deleted. */
  messages: number;
  /** Expired, but kept because an active legal hold covers them. */
  heldMessages: number;
  /** The earliest expiry among what would be destroyed: how late the purge already is. */
  earliestExpiry: string | null;
  /** Seconds between earliestExpiry and now. */
  overdueSeconds: number | null;
  days: PreviewDays | null;
}

export class PreviewCustomer {
  customerId: string;
  legalName: string;
  @ApiProperty({ type: [PreviewCategory] })
  categories: PreviewCategory[];
}

export class RetentionPreviewResponse {
  /** The moment the preview is for: what a purge starting now would take. */
  at: string;
  /** Customers with anything expired (or the one asked for). */
  @ApiProperty({ type: [PreviewCustomer] })
  customers: PreviewCustomer[];
}
