/**
 * Domain errors: thrown by services, turned into RFC 9457 problem+json by ProblemFilter.
 * Each has a stable `type` slug that clients may switch on.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail?: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }
}

export class NotFoundError extends DomainError {
  constructor(subject: string) {
    super(404, 'not-found', 'Not found', `${subject} not found`);
  }
}

export class ConflictError extends DomainError {
  constructor(detail: string, extra: Record<string, unknown> = {}) {
    super(409, 'conflict', 'Conflict', detail, extra);
  }
}

export class InvalidTransitionError extends DomainError {
  constructor(subject: string, from: string, to: string, allowed: readonly string[]) {
    super(409, 'invalid-transition', 'Transition not allowed',
      `${subject} cannot go from ${from} to ${to}; allowed: ${allowed.length ? allowed.join(', ') : 'none'}`,
      { from, to, allowed });
  }
}

export class ForbiddenError extends DomainError {
  constructor(detail = 'You may not perform this action') {
    super(403, 'forbidden', 'Forbidden', detail);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(detail = 'Authentication required') {
    super(401, 'unauthorized', 'Unauthorized', detail, {}, { 'WWW-Authenticate': 'Bearer' });
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(retryAfterSeconds: number, detail = 'Too many attempts; try again later') {
    super(429, 'too-many-requests', 'Too many requests', detail, { retryAfterSeconds },
      { 'Retry-After': String(retryAfterSeconds) });
  }
}

export interface FieldError {
  field: string;
  messages: string[];
}

export class ValidationProblem extends DomainError {
  constructor(readonly errors: FieldError[]) {
    super(400, 'validation', 'Invalid request',
      `Invalid fields: ${errors.map((e) => e.field).join(', ')}`, { errors });
  }
}

export class UnsupportedMediaTypeError extends DomainError {
  constructor(detail: string, accepted: readonly string[]) {
    super(415, 'unsupported-media-type', 'Unsupported media type', detail, { accepted });
  }
}

/** Stored data no longer matches its recorded checksum: refused rather than served corrupt. */
export class IntegrityError extends DomainError {
  constructor(subject: string) {
    super(500, 'integrity', 'Integrity check failed', `The stored ${subject} does not match its recorded checksum; it was not served. Operators have been alerted.`);
  }
}
