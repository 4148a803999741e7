import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { API_KEY_ROLES, type ApiKeyRole } from '../ability';
import { IsTimestamp } from '../../common/validation';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'platform ingest, eu-west-1' })
  @IsString()
  @MinLength(1)
  @MaxLength(120)
  name: string;

  @ApiProperty({ enum: API_KEY_ROLES })
  @IsIn(API_KEY_ROLES)
  role: ApiKeyRole;

  @ApiPropertyOptional({ description: 'ISO-8601; the key stops working then' })
  @IsOptional()
  @IsTimestamp()
  expiresAt?: string;
}

export class ApiKeyResponse {
  id: string;
  name: string;
  @ApiProperty({ enum: API_KEY_ROLES })
  role: string;
  prefix: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export class CreatedApiKeyResponse extends ApiKeyResponse {
  @ApiProperty({ description: 'the key itself, shown only in this response' })
  key: string;
}

export class ApiKeyPage {
  @ApiProperty({ type: [ApiKeyResponse] })
  items: ApiKeyResponse[];
  nextCursor: string | null;
}
