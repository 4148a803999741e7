import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';
import { setBounded } from './bounded-map';
import { deepFreeze } from './deep-freeze';
import { FieldError, ValidationProblem } from './errors';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, messages: Object.values(e.constraints) }] : [];
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** Bounds the memory of QueryValidationPipe: the oldest query string goes first. */
const MAX_REMEMBERED_QUERIES = 1000;

/**
 * The global validation pipe, remembering the query objects it has built: the same query string
 * for the same DTO class gives the same object, so a reader paging or polling a list is validated
 * once, not on every request (class-transformer and class-validator cost about a tenth of a
 * registry read). Query DTO validation is a pure function of the query (no rule reads the clock or
 * the database). Only accepted queries are kept, so only whitelisted fields, and no query DTO has
 * a field for personal data. A handler gets its own shallow copy of the kept object, which is
 * frozen all the way down: what the copies share (arrays, nested objects) cannot change.
 */
class QueryValidationPipe extends ValidationPipe {
  private readonly queries = new Map<string, { metatype: unknown; value: object }>();

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'query' || !metadata.metatype || !this.toValidate(metadata) || typeof value !== 'object' || value === null) return super.transform(value, metadata);
    const key = `${metadata.metatype.name}\u0000${JSON.stringify(value)}`;
    let known = this.queries.get(key);
    if (known?.metatype !== metadata.metatype) {
      known = { metatype: metadata.metatype, value: deepFreeze((await super.transform(value, metadata)) as object) };
      setBounded(this.queries, key, known, MAX_REMEMBERED_QUERIES);
    }
    return Object.assign(Object.create(Object.getPrototypeOf(known.value) as object | null), known.value);
  }
}

/** Whitelisting validation: unknown fields are refused, never silently dropped. */
export function createValidationPipe(): ValidationPipe {
  return new QueryValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => new ValidationProblem(flatten(errors)),
  });
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A moment: an RFC 3339 date-time with its time zone (2026-11-26T12:00:00Z). Stricter than
 * IsISO8601, which also takes week dates and zone-less times that JavaScript and PostgreSQL then
 * read differently or not at all.
 */
export function IsTimestamp(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isTimestamp',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value)),
        defaultMessage: buildMessage((each) => `${each}$property must be a date-time with a time zone, e.g. 2026-11-26T12:00:00Z`, options),
      },
    },
    options,
  );
}
