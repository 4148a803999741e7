import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';

export class LoginDto {
  @IsEmail()
  @MaxLength(254)
  email: string;

  @IsString()
  @MinLength(1)
  @MaxLength(256)
  password: string;
}

export class TokenResponse {
  accessToken: string;
  @ApiProperty({ enum: ['Bearer'] })
  tokenType: 'Bearer';
  @ApiProperty({ description: 'seconds until the token expires' })
  expiresIn: number;
}

export class MeResponse {
  id: string;
  @ApiProperty({ enum: ['user', 'api_key'] })
  kind: string;
  role: string;
  email: string | null;
  customerId: string | null;
}
