import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsEmail, IsIn, IsOptional, IsString, IsUUID, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { USER_ROLES, type UserRole } from '../ability';

export class CreateUserDto {
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ minLength: 12 })
  @IsString()
  @MinLength(12)
  @MaxLength(256)
  password: string;

  @ApiProperty({ enum: USER_ROLES })
  @IsIn(USER_ROLES)
  role: UserRole;

  @ApiPropertyOptional({ description: 'required for, and only for, the customer role' })
  @ValidateIf((o: CreateUserDto) => o.role === 'customer' || o.customerId !== undefined)
  @IsUUID()
  customerId?: string;
}

export class UpdateUserDto {
  @ApiPropertyOptional({ enum: USER_ROLES })
  @IsOptional()
  @IsIn(USER_ROLES)
  role?: UserRole;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsUUID()
  customerId?: string | null;

  @IsOptional()
  @IsBoolean()
  disabled?: boolean;

  @ApiPropertyOptional({ description: 'break-glass: may read decrypted message PII (with a stated reason, audited); only for the dpo role, cleared when the role changes' })
  @IsOptional()
  @IsBoolean()
  piiAccess?: boolean;

  @ApiPropertyOptional({ minLength: 12 })
  @IsOptional()
  @IsString()
  @MinLength(12)
  @MaxLength(256)
  password?: string;
}

export class UserQuery extends PageQuery {
  @ApiPropertyOptional({ enum: USER_ROLES })
  @IsOptional()
  @IsIn(USER_ROLES)
  role?: UserRole;
}

export class UserResponse {
  id: string;
  email: string;
  @ApiProperty({ enum: USER_ROLES })
  role: string;
  customerId: string | null;
  disabled: boolean;
  /** May read decrypted message PII (DPO only, granted by an admin). */
  piiAccess: boolean;
  createdAt: string;
  updatedAt: string;
}

export class UserPage {
  @ApiProperty({ type: [UserResponse] })
  items: UserResponse[];
  nextCursor: string | null;
}
