import express from 'express';
import request, { type Response } from 'supertest';
import type { Actor } from '../src/access/ability';
import { bearerCredential } from '../src/access/access.guard';
import { AuthService } from '../src/access/auth.service';
import { ReplyMemo } from '../src/access/reply-memo';
import { Clock } from '../src/common/clock';
import { ReadCache } from '../src/common/read-cache';
import { SharedRepliesAdapter, sharedReply } from '../src/common/shared-replies';
import { DpasService } from '../src/dpas/dpas.service';
import { AuthorisationService } from '../src/subprocessors/authorisation.service';
import { SubprocessorsService } from '../src/subprocessors/subprocessors.service';
import { ADMIN, createUser, login, startTestApp, TestApp } from './support/app';
import { until } from './support/cluster-fleet';
import { bearer, expectProblem, signJwt } from './support/http';
import { seedCustomer, seedDpa, seedSubprocessor } from './support/registry-fixtures';

/*
 * Repeated authenticated reads of the registry, replayed to the same credential for the same URL
 * without running the route (src/access/reply-memo.ts): the same answer as the route would give,
 * and never one the route would not give any more.
 */

describe('authenticated reads replayed to the same caller', () => {
  let t: TestApp;
  let admin: string;
  let dpo: string;
  let alpha: string;
  let bravo: string;
  let alphaUser: { id: string; token: string };
  let bravoUser: string;

  /** Counts the calls of a route's service method from here on: a replay makes none. */
  const runsOf = <T extends object>(service: T, method: keyof T & string) => jest.spyOn(service, method as never);
  const get = (path: string, credential: string) => t.http().get(path).set(bearer(credential));
  /** The headers a client sees, without those that differ for every request. */
  const headersOf = (res: Response) => {
    const { date: _date, 'x-request-id': _id, ...rest } = res.headers as Record<string, string>;
    return rest;
  };

  beforeAll(async () => {
    t = await startTestApp({ JOBS_ENABLED: 'false' });
    admin = await login(t, ADMIN.email, ADMIN.password);
    dpo = (await createUser(t, admin, { email: 'dpo@memo.test', role: 'dpo' })).token;
    alpha = await seedCustomer(t, { legalName: 'Alpha Brand GmbH' });
    bravo = await seedCustomer(t, { legalName: 'Bravo Brand GmbH' });
    await seedDpa(t, { customerId: alpha });
    await seedDpa(t, { customerId: bravo });
    await seedSubprocessor(t, { legalEntity: 'Kilo Mobile GmbH', country: 'DE', carriesCountries: ['DE'] });
    alphaUser = await createUser(t, admin, { email: 'alpha@memo.test', role: 'customer', customerId: alpha });
    bravoUser = (await createUser(t, admin, { email: 'bravo@memo.test', role: 'customer', customerId: bravo })).token;
    await until('the instance listens for changes', () => (t.app.get(ReadCache).active ? true : undefined), 5000, 20);
  });

  afterEach(() => jest.restoreAllMocks());

  afterAll(async () => {
    await t?.close();
  });

  it('answers the second read with the bytes and headers the route gave, 304 included', async () => {
    const runs = runsOf(t.app.get(SubprocessorsService), 'list');
    const first = await get('/api/v1/subprocessors?limit=50', dpo).expect(200);
    const second = await get('/api/v1/subprocessors?limit=50', dpo).expect(200);
    expect(runs).toHaveBeenCalledTimes(1);
    expect(second.text).toBe(first.text);
    expect(headersOf(second)).toEqual(headersOf(first));
    expect(second.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
    expect(second.headers['content-security-policy']).toBeDefined();
    const unchanged = await get('/api/v1/subprocessors?limit=50', dpo).set('If-None-Match', first.headers.etag as string).expect(304);
    expect(unchanged.text).toBe('');
    expect(runs).toHaveBeenCalledTimes(1);
  });

  it("stamps a replayed 'now' answer with the moment of the reply", async () => {
    const path = `/api/v1/customers/${alpha}/authorised-subprocessors`;
    const runs = runsOf(t.app.get(AuthorisationService), 'forCustomer');
    const first = await get(path, alphaUser.token).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await get(path, alphaUser.token).expect(200);
    expect(runs).toHaveBeenCalledTimes(1);
    const { at: firstAt, ...firstRest } = first.body as { at: string };
    const { at: secondAt, ...secondRest } = second.body as { at: string };
    expect(secondRest).toEqual(firstRest);
    expect(Date.parse(secondAt)).toBeGreaterThan(Date.parse(firstAt));
    expect(second.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(second.headers['content-length'])).toBe(Buffer.byteLength(second.text));
  });

  it('replays only to the credential the route answered: another customer is refused, another user asks the route', async () => {
    const path = `/api/v1/customers/${alpha}/dpas`;
    const runs = runsOf(t.app.get(DpasService), 'list');
    await get(path, alphaUser.token).expect(200);
    await get(path, alphaUser.token).expect(200);
    expect(runs).toHaveBeenCalledTimes(1);
    expectProblem(await get(path, bravoUser).expect(404), 404);
    const colleague = (await createUser(t, admin, { email: 'alpha2@memo.test', role: 'customer', customerId: alpha })).token;
    await get(path, colleague).expect(200);
    expect(runs).toHaveBeenCalledTimes(3);
  });

  it('takes every decision anew once the caller changed: new role, disabled account, revoked key, expired token', async () => {
    const legal = await createUser(t, admin, { email: 'legal@memo.test', role: 'legal' });
    const dpas = `/api/v1/customers/${alpha}/dpas`;
    await get(dpas, legal.token).expect(200);
    await get(dpas, legal.token).expect(200);
    await t.http().patch(`/api/v1/users/${legal.id}`).set(bearer(admin)).send({ role: 'customer', customerId: bravo }).expect(200);
    await get(dpas, legal.token).expect(404);
    await get(`/api/v1/customers/${bravo}/dpas`, legal.token).expect(200);

    const leaver = await createUser(t, admin, { email: 'leaver@memo.test', role: 'dpo' });
    await get('/api/v1/customers?limit=50', leaver.token).expect(200);
    await get('/api/v1/customers?limit=50', leaver.token).expect(200);
    await t.http().patch(`/api/v1/users/${leaver.id}`).set(bearer(admin)).send({ disabled: true }).expect(200);
    expectProblem(await get('/api/v1/customers?limit=50', leaver.token).expect(401), 401);

    const key = (await t.http().post('/api/v1/api-keys').set(bearer(admin)).send({ name: 'memo', role: 'auditor' }).expect(201)).body as { id: string; key: string };
    await get('/api/v1/subprocessors', key.key).expect(200);
    await get('/api/v1/subprocessors', key.key).expect(200);
    await t.http().delete(`/api/v1/api-keys/${key.id}`).set(bearer(admin)).expect(204);
    expectProblem(await get('/api/v1/subprocessors', key.key).expect(401), 401);

    const shortLived = signJwt({ sub: alphaUser.id }, { expiresIn: 1 });
    const runs = runsOf(t.app.get(DpasService), 'list');
    await get(`/api/v1/customers/${alpha}/dpas`, shortLived).expect(200);
    await get(`/api/v1/customers/${alpha}/dpas`, shortLived).expect(200);
    expect(runs).toHaveBeenCalledTimes(1);
    const { exp } = JSON.parse(Buffer.from(shortLived.split('.')[1], 'base64url').toString()) as { exp: number };
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 50));
    expectProblem(await get(`/api/v1/customers/${alpha}/dpas`, shortLived).expect(401), 401);
  });

  it('gives a change to the next read, and sends a read with a body to the route', async () => {
    const names = async () => ((await get('/api/v1/subprocessors?limit=50', dpo).expect(200)).body as { items: { legalEntity: string }[] }).items.map((s) => s.legalEntity);
    await names();
    await names();
    await t.http().post('/api/v1/subprocessors').set(bearer(dpo)).send({
      legalEntity: 'Lima Telecom SA', country: 'FR', role: 'mobile_operator', services: ['sms termination'], purpose: 'Delivering SMS',
      dataCategories: ['msisdn'], carriesCountries: ['FR'], transferMechanism: 'adequacy',
    }).expect(201);
    expect(await names()).toContain('Lima Telecom SA');

    const res = await get('/api/v1/subprocessors?limit=50', dpo).send({ unexpected: true }).expect(400);
    expectProblem(res, 400);
  });

  it('keeps at most its limits of replies and bytes, dropping the oldest first', async () => {
    const auth = t.app.get(AuthService);
    const cache = t.app.get(ReadCache);
    const memo = new ReplyMemo(auth, cache, t.app.get(Clock), { replies: 3, bytes: 1000 });
    const adapter = new SharedRepliesAdapter();
    let runs = 0;
    // A route answering read-cache answers, as the registry's do: /r/9's is 2,000 bytes, the others' a few dozen.
    const server = express().use(memo.middleware).get('/r/:n', (req, res, next) => void (async () => {
      runs++;
      (req as { actor?: Actor }).actor = await auth.authenticate(bearerCredential(req.headers.authorization)!);
      const n = Number(req.params.n);
      adapter.reply(res, await cache.read(`reply-memo limits ${n}`, async () => ({ value: sharedReply({ n, pad: 'x'.repeat(n === 9 ? 2000 : 10) }) })));
    })().catch(next));
    const routeRunsFor = async (...ns: number[]) => {
      const before = runs;
      for (const n of ns) await request(server).get(`/r/${n}`).set(bearer(dpo)).expect(200);
      return runs - before;
    };
    expect(await routeRunsFor(1, 2, 3)).toBe(3);
    expect(await routeRunsFor(1, 2, 3)).toBe(0);
    expect(await routeRunsFor(4)).toBe(1); // a fourth: the oldest, /r/1, goes
    expect(await routeRunsFor(2, 3, 4)).toBe(0);
    expect(await routeRunsFor(1)).toBe(1);
    // Over the bytes: everything older goes, and a reply larger than the limit is not kept either.
    expect(await routeRunsFor(9)).toBe(1);
    expect(await routeRunsFor(9, 1)).toBe(2);
  });
});
