import { ApiProperty, PartialType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsBoolean, IsEmail, IsIn, IsISO31661Alpha2, IsNotEmpty, IsObject, IsString,
  MaxLength, ValidateNested,
} from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { MESSAGE_KINDS, type MessageKind } from '../customer.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const upper = (v: unknown) => (typeof v === 'string' ? v.trim().toUpperCase() : v);
const lower = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : v);
const each = (f: (v: unknown) => unknown) => ({ value }: { value: unknown }) => (Array.isArray(value) ? value.map(f) : f(value));

export class ContactPersonDto {
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @Transform(each(lower))
  @IsEmail()
  @MaxLength(254)
  email: string;
}

export class DataProfileDto {
  @ApiProperty({ enum: MESSAGE_KINDS, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(MESSAGE_KINDS, { each: true })
  messageKinds: MessageKind[];

  /** Whether GDPR Art. 9 special-category data (health, beliefs…) can appear in messages. */
  @IsBoolean()
  specialCategoryData: boolean;
}

export class CreateCustomerDto {
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(300)
  legalName: string;

  @ApiProperty({ description: 'ISO 3166-1 alpha-2', example: 'DE' })
  @Transform(each(upper))
  @IsString()
  @IsISO31661Alpha2()
  country: string;

  @IsObject()
  @ValidateNested()
  @Type(() => ContactPersonDto)
  dpoContact: ContactPersonDto;

  @ApiProperty({ description: 'where breach notifications go; one or more', minItems: 1 })
  @Transform(each(lower))
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ArrayUnique()
  @IsEmail({}, { each: true })
  @MaxLength(254, { each: true })
  breachNotificationEmails: string[];

  @ApiProperty({ description: 'ISO 3166-1 alpha-2 codes of the countries the traffic goes to', example: ['DE', 'FR'], minItems: 1 })
  @Transform(each(upper))
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(250)
  @ArrayUnique()
  @IsISO31661Alpha2({ each: true })
  destinationCountries: string[];

  @IsObject()
  @ValidateNested()
  @Type(() => DataProfileDto)
  dataProfile: DataProfileDto;
}

/** Any subset of the fields; null is refused, not stored (every field is required on a customer). */
export class UpdateCustomerDto extends PartialType(CreateCustomerDto, { skipNullProperties: false }) {}

export class CustomerQuery extends PageQuery {}

export class CustomerResponse {
  id: string;
  legalName: string;
  country: string;
  dpoContact: ContactPersonDto;
  breachNotificationEmails: string[];
  destinationCountries: string[];
  dataProfile: DataProfileDto;
  createdAt: string;
  updatedAt: string;
}

export class CustomerPage {
  @ApiProperty({ type: [CustomerResponse] })
  items: CustomerResponse[];
  nextCursor: string | null;
}
