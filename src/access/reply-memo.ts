import { createHash } from 'node:crypto';
import type { OutgoingHttpHeader } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Clock } from '../common/clock';
import type { ReadCache } from '../common/read-cache';
import { joinRendering, ON_SHARED_REPLY, type SharedReplyListener, type Stamp } from '../common/shared-replies';
import type { Actor } from './ability';
import { bearerCredential } from './access.guard';
import type { AuthService } from './auth.service';

/**
 * Bounds the memory: the oldest replies go first once there are more than `replies` of them or
 * their keys and bodies (the bodies mostly shared with the read cache's renderings) add up to more
 * than `bytes`.
 */
export const REPLY_MEMO_LIMITS = { replies: 5000, bytes: 32 * 1024 * 1024 };

interface Reply {
  /** The read-cache answer the reply was rendered from. */
  answer: object;
  /** The caller's ability when the route answered: the access decision the reply carries. */
  ability: Actor['ability'];
  /** Headers the route set (Content-Type, ETag, …), not those every request gets before routing. */
  headers: [string, OutgoingHttpHeader][];
  /** The answer's rendering; with a stamp, what follows the stamp's fields (stampedReply). */
  body: Buffer;
  stamp?: Stamp;
  /** What it counts against the limit in bytes. */
  bytes: number;
}

type MemoRequest = Request & { id?: unknown; actor?: Actor; [ON_SHARED_REPLY]?: SharedReplyListener };

/**
 * Authenticated reads answered again to the same caller without running the route: once a GET
 * with a bearer credential has been answered with a shared reply (a read-cache answer of the
 * registry, sharedReply), the same credential asking for the same URL gets the same bytes back,
 * with the same headers, while all of this holds:
 *  - the credential still authenticates (checked on every request, as the guard does: signature
 *    and expiry, disabled users, revoked or expired keys) to an actor with the very same ability
 *    object, i.e. nothing about the caller was read again since (a changed role or customer is a
 *    changed users row, which drops every kept answer);
 *  - the answer is still the one the read cache would give (ReadCache.current: nothing changed
 *    under it, not too old, its time not run out).
 * The route's access checks (its declared rule, the service's check of the row, the scope of a
 * list) depend on nothing else, so the decision they took for that credential and URL is the one
 * they would take again. What this skips is routing, Nest's guard, pipes and controller, and the
 * read cache's key building: most of what an authenticated read costs beyond the HTTP exchange.
 *
 * Runs after the request id, the request log line and the security headers, so replays get all
 * three; middleware registered after it does not run for a replay. Only GETs without a body;
 * anything else, and every miss, goes to the route as usual. Replies are kept under a hash of
 * the Authorization header, never the credential itself; one that sets a cookie is not kept.
 */
export class ReplyMemo {
  private readonly replies = new Map<string, Reply>();
  private bytes = 0;

  constructor(
    private readonly auth: AuthService,
    private readonly cache: ReadCache,
    private readonly clock: Clock,
    private readonly limits = REPLY_MEMO_LIMITS,
  ) {}

  readonly middleware: RequestHandler = (req, res, next) => {
    if (req.method !== 'GET' || req.headers.authorization === undefined || hasBody(req)) return next();
    this.serve(req, res, next).catch(next);
  };

  private async serve(req: MemoRequest, res: Response, next: NextFunction): Promise<void> {
    const key = `${createHash('sha256').update(req.headers.authorization!).digest('base64')} ${req.originalUrl}`;
    const reply = this.replies.get(key);
    // One moment for both: the answer holds at it, and a stamped reply says it.
    const now = this.clock.now();
    const body = reply && (await this.stillHolds(reply, req, now)) && (reply.stamp ? joinRendering(reply.stamp(now), reply.body) : reply.body);
    if (body) {
      for (const [name, value] of reply.headers) res.setHeader(name, value);
      res.status(200).send(body);
      return;
    }
    if (reply && this.replies.get(key) === reply) this.forget(key, reply);
    const before = res.getHeaderNames();
    req[ON_SHARED_REPLY] = (answer, body, stamp) => {
      if (!req.actor || res.statusCode !== 200 || res.hasHeader('Set-Cookie')) return;
      const headers = res.getHeaderNames().filter((name) => !before.includes(name)).map((name): [string, OutgoingHttpHeader] => [name, res.getHeader(name)!]);
      this.keep(key, { answer, ability: req.actor.ability, headers, body, stamp, bytes: key.length + body.length });
    };
    next();
  }

  private keep(key: string, reply: Reply): void {
    const old = this.replies.get(key);
    if (old) this.forget(key, old);
    this.replies.set(key, reply);
    this.bytes += reply.bytes;
    for (const [oldest, first] of this.replies) {
      if (this.replies.size <= this.limits.replies && this.bytes <= this.limits.bytes) break;
      this.forget(oldest, first);
    }
  }

  private forget(key: string, reply: Reply): void {
    this.replies.delete(key);
    this.bytes -= reply.bytes;
  }

  private async stillHolds(reply: Reply, req: MemoRequest, now: Date): Promise<boolean> {
    if (!this.cache.current(reply.answer, now)) return false;
    const credential = bearerCredential(req.headers.authorization);
    if (!credential) return false;
    try {
      const actor = await this.auth.authenticate(credential, req.id === undefined ? undefined : String(req.id));
      return actor.ability === reply.ability;
    } catch {
      return false; // the route answers it (401)
    }
  }
}

/** A request with a body goes to the route, which refuses a body it does not read. */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
