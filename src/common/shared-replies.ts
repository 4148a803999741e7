import { ExpressAdapter } from '@nestjs/platform-express';
import type { Response } from 'express';
import { deepFreeze } from './deep-freeze';

interface Rendering {
  body?: Buffer;
  etag?: string;
}

/** Values many requests answer with, and their JSON once rendered; gone with the value. */
const renderings = new WeakMap<object, Rendering>();

/**
 * Marks a value that many requests will answer with as it is (a read-cache answer given as the
 * reply): the first reply with it renders its JSON and ETag, and later replies send those bytes
 * again. The value is frozen, all the way down, so a change to it after that fails loudly instead
 * of going unseen in the replies.
 */
export function sharedReply<T extends object>(value: T): T {
  if (!renderings.has(value)) renderings.set(deepFreeze(value), {});
  return value;
}

/**
 * Nest's Express adapter, replying with a shared value's kept rendering instead of serialising it,
 * hashing it for its ETag and converting it again on every request: together more than a tenth of
 * a registry read. Everything else (status, the caller's Content-Type or ETag, freshness and 304,
 * HEAD) is left to Express's res.send, as for any other body.
 */
export class SharedRepliesAdapter extends ExpressAdapter {
  override reply(response: Response, body: unknown, statusCode?: number): unknown {
    const rendering = typeof body === 'object' && body !== null ? renderings.get(body) : undefined;
    if (!rendering) return super.reply(response, body, statusCode);
    if (!rendering.body) {
      rendering.body = Buffer.from(JSON.stringify(body));
      const etagOf = response.app.get('etag fn') as ((body: Buffer) => string | undefined) | undefined;
      rendering.etag = etagOf?.(rendering.body);
    }
    if (statusCode) response.status(statusCode);
    if (!response.getHeader('Content-Type')) response.setHeader('Content-Type', 'application/json; charset=utf-8');
    if (rendering.etag && !response.getHeader('ETag')) response.setHeader('ETag', rendering.etag);
    return response.send(rendering.body);
  }
}
