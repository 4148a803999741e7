import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsNumber, IsObject, IsOptional, IsString, MaxLength, MinLength, ValidateNested } from 'class-validator';

export class SeverityOverrideDto {
  @ApiProperty({ description: 'DPC 1–4; EI 0.25, 0.5, 0.75 or 1; CB 0–2 in steps of 0.25' })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  value: number;

  @ApiProperty({ minLength: 10, maxLength: 1000, description: 'quoted in the notification draft, so written for the customer' })
  @IsString()
  @MinLength(10)
  @MaxLength(1000)
  reason: string;
}

export class SeverityOverridesDto {
  @ApiPropertyOptional({ type: SeverityOverrideDto }) @IsOptional() @ValidateNested() @Type(() => SeverityOverrideDto) dpc?: SeverityOverrideDto;
  @ApiPropertyOptional({ type: SeverityOverrideDto }) @IsOptional() @ValidateNested() @Type(() => SeverityOverrideDto) ei?: SeverityOverrideDto;
  @ApiPropertyOptional({ type: SeverityOverrideDto }) @IsOptional() @ValidateNested() @Type(() => SeverityOverrideDto) cb?: SeverityOverrideDto;
}

export class OverrideSeverityDto {
  @ApiProperty({ type: SeverityOverridesDto, description: 'the overrides that apply from now on; a factor left out follows the facts again' })
  @IsObject()
  @ValidateNested()
  @Type(() => SeverityOverridesDto)
  overrides: SeverityOverridesDto;
}

export class SeverityFactorResponse {
  value: number;
  suggested: number;
  basis: string;
  overrideReason: string | null;
}

export class CustomerSeverityResponse {
  customerId: string;
  dpc: SeverityFactorResponse;
  ei: SeverityFactorResponse;
  cb: SeverityFactorResponse;
  score: number;
  @ApiProperty({ enum: ['low', 'medium', 'high', 'very_high'] })
  level: string;
  explanation: string;
}

export class SeverityResponse {
  @ApiProperty({ type: [CustomerSeverityResponse] })
  customers: CustomerSeverityResponse[];
}
