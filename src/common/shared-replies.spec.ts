import express from 'express';
import { once } from 'node:events';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SharedRepliesAdapter, sharedReply, stampedReply } from './shared-replies';

/** Runs `test` against `app` listening on a free local port, then closes it. */
async function withServer(app: express.Express, test: (base: string) => Promise<void>): Promise<void> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await test(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.close();
  }
}

describe('SharedRepliesAdapter', () => {
  it('renders a shared value once and sends the same bytes and ETag to every request; other values each time', async () => {
    let renders = 0;
    const value = { items: [{ id: 1, name: 'Kilo Mobile GmbH' }], toJSON() { renders++; return { items: this.items }; } };
    let other = 0;
    const adapter = new SharedRepliesAdapter();
    const app = express();
    app.get('/shared', (_req, res) => void adapter.reply(res, sharedReply(value)));
    app.get('/created', (_req, res) => void adapter.reply(res, sharedReply(value), 201));
    app.get('/other', (_req, res) => void adapter.reply(res, { n: ++other }));
    await withServer(app, async (base) => {
      const first = await fetch(`${base}/shared`);
      const second = await fetch(`${base}/shared`);
      const created = await fetch(`${base}/created`);
      expect(renders).toBe(1);
      expect(await first.text()).toBe('{"items":[{"id":1,"name":"Kilo Mobile GmbH"}]}');
      expect(await second.text()).toBe('{"items":[{"id":1,"name":"Kilo Mobile GmbH"}]}');
      expect(first.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
      expect(created.status).toBe(201);
      // (node:http: fetch adds Cache-Control: no-cache to a conditional request, and Express then answers in full.)
      const conditional = await new Promise<number>((resolve, reject) =>
        get(`${base}/shared`, { headers: { 'If-None-Match': first.headers.get('etag')! } }, (res) => resolve(res.resume().statusCode!)).on('error', reject));
      expect(conditional).toBe(304);

      expect(await (await fetch(`${base}/other`)).json()).toEqual({ n: 1 });
      expect(await (await fetch(`${base}/other`)).json()).toEqual({ n: 2 });
    });
  });

  it('freezes a shared value all the way down: a change after it was rendered fails instead of going unseen', () => {
    const value = sharedReply({ items: [{ name: 'Kilo Mobile GmbH' }] });
    expect(() => value.items.push({ name: 'Lima' })).toThrow(TypeError);
    expect(() => ((value.items[0] as { name: string }).name = 'Lima')).toThrow(TypeError);
  });

  it("sends a stamped reply as its own fields joined to the shared value's kept rendering: the JSON of the whole value", async () => {
    let renders = 0;
    const shared = { dpaId: null, subprocessors: [{ id: 1 }], toJSON() { renders++; return { dpaId: this.dpaId, subprocessors: this.subprocessors }; } };
    let tick = 0;
    const adapter = new SharedRepliesAdapter();
    const app = express();
    app.get('/stamped', (_req, res) => void adapter.reply(res, stampedReply((at) => ({ customerId: 'c-1', at: `${at.getTime()}-${++tick}` }), shared, new Date(7))));
    await withServer(app, async (base) => {
      const first = await fetch(`${base}/stamped`);
      const second = await fetch(`${base}/stamped`);
      expect(await first.text()).toBe('{"customerId":"c-1","at":"7-1","dpaId":null,"subprocessors":[{"id":1}]}');
      expect(await second.text()).toBe('{"customerId":"c-1","at":"7-2","dpaId":null,"subprocessors":[{"id":1}]}');
      expect(renders).toBe(1);
      expect(first.headers.get('content-type')).toBe('application/json; charset=utf-8');
      // Different bytes, different ETags (Express's, of the bytes sent).
      expect(first.headers.get('etag')).not.toBe(second.headers.get('etag'));
    });
    expect(() => stampedReply(() => ({ dpaId: 'x' }), { dpaId: null }, new Date())).toThrow(/must not be in its shared value/);
  });
});
