import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsNotEmpty, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { REQUEST_KINDS, type RequestKind } from '../data-subject-request.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateSubjectRequestDto {
  /** The customer (controller) the data subject's messages belong to; customer users may name only their own. */
  @IsUUID()
  customerId: string;

  /** access: export of that person's messages; erasure: their phone numbers and bodies destroyed at once. */
  @ApiProperty({ enum: REQUEST_KINDS })
  @IsIn(REQUEST_KINDS)
  kind: RequestKind;

  /** The data subject's phone number in E.164 or a common written form (+44 7700 900123, 0044…); kept only as its keyed hash. */
  @ApiProperty({ example: '+447700900123' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(40)
  msisdn: string;

  /** The customer's own reference (ticket number); must not contain the phone number. */
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  // Printable, single line: it is shown in lists and in the export.
  @Matches(/^[^\x00-\x1f\x7f]+$/, { message: 'reference must be a single line of printable text' })
  reference?: string;
}

export class SubjectRequestQuery extends PageQuery {
  @IsOptional()
  @IsUUID()
  customerId?: string;

  @ApiPropertyOptional({ enum: REQUEST_KINDS })
  @IsOptional()
  @IsIn(REQUEST_KINDS)
  kind?: RequestKind;
}

/** A request as the API shows it: never the phone number or its hash. */
export class SubjectRequestResponse {
  id: string;
  customerId: string;
  @ApiProperty({ enum: REQUEST_KINDS })
  kind: string;
  reference: string | null;
  /** The user who filed it. */
  requestedBy: string;
  requestedAt: string;
  completedAt: string | null;
  /** access: messages of that person found when the request was filed; erasure: messages whose PII it destroyed. */
  messageCount: number;
  /** erasure: messages of that person left intact because a legal hold covers them. */
  heldCount: number;
  /** erasure: the id of the signed deletion certificate it issued (verifiable through the certificates API). */
  certificateId: string | null;
  /** access: where to download the decrypted export (JSON attachment). */
  exportPath: string | null;
}

export class SubjectRequestPage {
  @ApiProperty({ type: [SubjectRequestResponse] })
  items: SubjectRequestResponse[];
  nextCursor: string | null;
}
