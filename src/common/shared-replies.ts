import { ExpressAdapter } from '@nestjs/platform-express';
import type { Response } from 'express';
import { deepFreeze } from './deep-freeze';

interface Rendering {
  body?: Buffer;
  etag?: string;
}

/** The fields a stamped reply puts in front of its shared value, computed for each reply at its moment. */
export type Stamp = (at: Date) => Record<string, string>;

/**
 * Set on a request by whoever wants to know that it is being answered with a shared reply, and
 * with what (ReplyMemo): the shared value, its rendering and, for a stamped reply, its stamp.
 * Called with the status and headers in place, just before sending.
 */
export const ON_SHARED_REPLY = Symbol('on shared reply');
export type SharedReplyListener = (value: object, body: Buffer, stamp?: Stamp) => void;

/** Values many requests answer with, and their JSON once rendered; gone with the value. */
const renderings = new WeakMap<object, Rendering>();

/**
 * Marks a value that many requests will answer with as it is (a read-cache answer given as the
 * reply): the first reply with it renders its JSON and ETag, and later replies send those bytes
 * again. The value is frozen, all the way down, so a change to it after that fails loudly instead
 * of going unseen in the replies. Only for reads that have no effect (no audit entry): ReplyMemo
 * may replay the reply to the same caller without running the route.
 */
export function sharedReply<T extends object>(value: T): T {
  if (!renderings.has(value)) renderings.set(deepFreeze(value), {});
  return value;
}

/** Replies made of a few fields of their own in front of a shared value: see `stampedReply`. */
const stamped = new WeakMap<object, { fields: Record<string, string>; stamp: Stamp; shared: object }>();

/**
 * A reply of the fields `stamp` gives for the moment `at` (strings, e.g. that moment) followed by
 * the fields of `shared`, a shared reply: `{ ...stamp(at), ...shared }`. Its JSON is the stamp's
 * joined to the kept rendering of `shared`, instead of the whole value serialised on every
 * request; a replay (ReplyMemo) calls `stamp` again, with the moment of its own reply.
 */
export function stampedReply<F extends Record<string, string>, S extends object>(stamp: (at: Date) => F, shared: S, at: Date): F & S {
  const fields = stamp(at);
  if (Object.keys(fields).some((name) => name in shared)) throw new Error('a stamped reply\'s own fields must not be in its shared value');
  const value = { ...fields, ...sharedReply(shared) };
  stamped.set(value, { fields, stamp, shared });
  return value;
}

/** The JSON of `fields` followed by the fields of a rendered object; undefined when either is empty. */
export function joinRendering(fields: Record<string, string>, rest: Buffer): Buffer | undefined {
  const own = JSON.stringify(fields);
  return rest.length > 2 && own.length > 2 ? Buffer.concat([Buffer.from(`${own.slice(0, -1)},`), rest.subarray(1)]) : undefined;
}

function rendered(value: object, response: Response): Required<Rendering> | undefined {
  const rendering = renderings.get(value);
  if (rendering && !rendering.body) {
    rendering.body = Buffer.from(JSON.stringify(value));
    const etagOf = response.app.get('etag fn') as ((body: Buffer) => string | undefined) | undefined;
    rendering.etag = etagOf?.(rendering.body);
  }
  return rendering as Required<Rendering> | undefined;
}

/**
 * Nest's Express adapter, replying with a shared value's kept rendering instead of serialising it,
 * hashing it for its ETag and converting it again on every request: together more than a tenth of
 * a registry read. Everything else (status, the caller's Content-Type or ETag, freshness and 304,
 * HEAD) is left to Express's res.send, as for any other body.
 */
export class SharedRepliesAdapter extends ExpressAdapter {
  override reply(response: Response, body: unknown, statusCode?: number): unknown {
    if (typeof body !== 'object' || body === null) return super.reply(response, body, statusCode);
    const stamp = stamped.get(body);
    const shared = stamp?.shared ?? body;
    const rendering = rendered(shared, response);
    const bytes = rendering && (stamp ? joinRendering(stamp.fields, rendering.body) : rendering.body);
    if (!rendering || !bytes) return super.reply(response, body, statusCode);
    if (statusCode) response.status(statusCode);
    if (!response.getHeader('Content-Type')) response.setHeader('Content-Type', 'application/json; charset=utf-8');
    // A stamped reply's bytes differ from one reply to the next: Express hashes them for the ETag.
    if (!stamp && rendering.etag && !response.getHeader('ETag')) response.setHeader('ETag', rendering.etag);
    (response.req as { [ON_SHARED_REPLY]?: SharedReplyListener })[ON_SHARED_REPLY]?.(shared, rendering.body, stamp?.stamp);
    return response.send(bytes);
  }
}
