import { ValidationError, ValidationPipe } from '@nestjs/common';
import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';
import { FieldError, ValidationProblem } from './errors';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, messages: Object.values(e.constraints) }] : [];
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** Whitelisting validation: unknown fields are refused, never silently dropped. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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
