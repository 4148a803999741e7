import { ADMIN, login, startTestApp, TestApp } from './support/app';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('logs the first-boot admin in and answers /me', async () => {
    const token = await login(t, ADMIN.email, ADMIN.password);
    const me = await t.http().get('/api/v1/me').set('Authorization', `Bearer ${token}`).expect(200);
    expect(me.body).toMatchObject({ email: ADMIN.email, role: 'admin', kind: 'user' });
  });
});
