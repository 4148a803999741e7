import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, MaxLength } from 'class-validator';

export class SubscribeDto {
  /** Where to send the confirmation link, then one mail per sub-processor change. */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value))
  @IsEmail()
  @MaxLength(254)
  email: string;
}

export class SubscriptionTokenQuery {
  /** The HMAC from the link in the mail; a wrong or missing one answers 404. */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  token?: string;
}

/** The same answer whether the address was new, pending or already confirmed. */
export class SubscriptionRequestedResponse {
  status: 'confirmation-sent';
  message: string;
}

export class SubscriberCountsResponse {
  confirmed: number;
  pending: number;
}
