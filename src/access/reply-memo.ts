import type { OutgoingHttpHeader } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { setBounded } from '../common/bounded-map';
import { ReadCache } from '../common/read-cache';
import { joinRendering, ON_SHARED_REPLY, type SharedReplyListener, type Stamp } from '../common/shared-replies';
import type { Actor } from './ability';
import { bearerCredential } from './access.guard';
import { AuthService } from './auth.service';

/** Bounds the memory: the oldest reply goes first. Bodies are shared with the read cache's renderings. */
const MAX_REPLIES = 5000;

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
 * three. Only GETs without a body; anything else, and every miss, goes to the route as usual.
 */
export class ReplyMemo {
  private readonly replies = new Map<string, Reply>();

  constructor(
    private readonly auth: AuthService,
    private readonly cache: ReadCache,
  ) {}

  readonly middleware: RequestHandler = (req, res, next) => {
    if (req.method !== 'GET' || req.headers.authorization === undefined || hasBody(req)) return next();
    this.serve(req, res, next).catch(next);
  };

  private async serve(req: MemoRequest, res: Response, next: NextFunction): Promise<void> {
    const key = `${req.headers.authorization}\n${req.originalUrl}`;
    const reply = this.replies.get(key);
    const body = reply && (await this.stillHolds(reply, req)) && (reply.stamp ? joinRendering(reply.stamp(), reply.body) : reply.body);
    if (body) {
      for (const [name, value] of reply.headers) res.setHeader(name, value);
      res.status(200).send(body);
      return;
    }
    if (reply) this.replies.delete(key);
    const before = res.getHeaderNames();
    req[ON_SHARED_REPLY] = (answer, body, stamp) => {
      if (!req.actor || res.statusCode !== 200) return;
      const headers = res.getHeaderNames().filter((name) => !before.includes(name)).map((name): [string, OutgoingHttpHeader] => [name, res.getHeader(name)!]);
      setBounded(this.replies, key, { answer, ability: req.actor.ability, headers, body, stamp }, MAX_REPLIES);
    };
    next();
  }

  private async stillHolds(reply: Reply, req: MemoRequest): Promise<boolean> {
    if (!this.cache.current(reply.answer)) return false;
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
