import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ValidationProblem } from './errors';

export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit = 50;

  @ApiPropertyOptional({ description: 'Opaque cursor from the previous page\'s nextCursor' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,512}$/, { message: 'cursor is not a cursor this service issued' })
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Decodes a cursor and checks its shape; a forged or stale one is a 400, not a 500. */
export function decodeCursor<T>(cursor: string | undefined, isValid: (v: unknown) => v is T): T | undefined {
  if (!cursor) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!isValid(value)) throw new ValidationProblem([{ field: 'cursor', messages: ['cursor is not a cursor this service issued'] }]);
  return value;
}

/** Takes limit+1 rows and turns the extra one into the next cursor. */
export function toPage<R, T>(rows: R[], limit: number, map: (row: R) => T, cursorOf: (row: R) => unknown): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return {
    items: items.map(map),
    nextCursor: more ? encodeCursor(cursorOf(items[items.length - 1])) : null,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A cursor of (a sort value, the row's id), as lists ordered by name then id issue. */
export function isKeyCursor(v: unknown): v is [string, string] {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && v[0].length <= 1000 && typeof v[1] === 'string' && UUID.test(v[1]);
}

/** A cursor of (an ISO timestamp, the row's id), as lists ordered by time then id issue. */
export function isTimeCursor(v: unknown): v is [string, string] {
  return isKeyCursor(v) && /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(v[0]) && !Number.isNaN(Date.parse(v[0]));
}
