import { loggedPath } from './app.module';

describe('request log paths', () => {
  it('keep the path, drop the query string and hide acknowledgement tokens', () => {
    expect(loggedPath('/api/v1/messages?msisdn=%2B4917012345')).toBe('/api/v1/messages');
    const token = '3f0c9b8e-2a4d-4c1e-9f7a-5b6c7d8e9f01.1797000000.q3Xk5b1kR3mQ2Zl3p0aK1r8w7v6u5t4s3r2q1p0o9n8';
    expect(loggedPath(`/api/v1/breach-acknowledgements/${token}`)).toBe('/api/v1/breach-acknowledgements/[token]');
    expect(loggedPath(`/api/v1/breach-acknowledgements/${token}?x=1`)).toBe('/api/v1/breach-acknowledgements/[token]');
    expect(loggedPath('/api/v1/breach-notifications/3f0c9b8e-2a4d-4c1e-9f7a-5b6c7d8e9f01/acknowledgement')).toBe('/api/v1/breach-notifications/3f0c9b8e-2a4d-4c1e-9f7a-5b6c7d8e9f01/acknowledgement');
  });
});
