import { ValidationProblem } from '../common/errors';
import type { DataProfile } from '../customers/customer.entity';
import { assessSeverity, type SeverityInput } from './severity';

const RETAIL: DataProfile = { messageKinds: ['marketing', 'transactional'], specialCategoryData: false };
const BANK: DataProfile = { messageKinds: ['otp', 'financial', 'marketing'], specialCategoryData: false };
const CLINIC: DataProfile = { messageKinds: ['health', 'transactional'], specialCategoryData: false };
const VERIFIER: DataProfile = { messageKinds: ['otp'], specialCategoryData: false };
const SHOP_LOGIN: DataProfile = { messageKinds: ['otp', 'marketing'], specialCategoryData: false };
const TAX_OFFICE: DataProfile = { messageKinds: ['otp', 'government'], specialCategoryData: false };
const THERAPIST: DataProfile = { messageKinds: ['transactional'], specialCategoryData: true };

const leak = (dataProfile: DataProfile, overrides: Partial<SeverityInput> = {}): SeverityInput => ({
  dataProfile, categories: ['msisdn', 'body'], nature: ['confidentiality'], maliciousIntent: false, ...overrides,
});

const summary = (input: SeverityInput) => {
  const { dpc, ei, cb, score, level } = assessSeverity(input);
  return { dpc: dpc.value, ei: ei.value, cb: cb.value, score, level };
};

const problem = (input: SeverityInput): ValidationProblem => {
  try {
    assessSeverity(input);
  } catch (e) {
    if (e instanceof ValidationProblem) return e;
    throw e;
  }
  throw new Error('accepted');
};

describe('ENISA severity: worked examples', () => {
  it.each<[string, SeverityInput, ReturnType<typeof summary>]>([
    ['retail numbers and bodies leaked: max(1, 1) × 1 + 0.5 = 1.5, low',
      leak(RETAIL), { dpc: 1, ei: 1, cb: 0.5, score: 1.5, level: 'low' }],
    ['bank numbers and bodies stolen: max(1, financial 3) × 1 + (0.5 + 0.5) = 4, very high',
      leak(BANK, { maliciousIntent: true }), { dpc: 3, ei: 1, cb: 1, score: 4, level: 'very_high' }],
    ['clinic numbers and bodies stolen: health 4 × 1 + (0.5 + 0.5) = 5, very high',
      leak(CLINIC, { maliciousIntent: true }), { dpc: 4, ei: 1, cb: 1, score: 5, level: 'very_high' }],
    ['clinic bodies without numbers: 4 × limited 0.5 + 0.5 = 2.5, medium',
      leak(CLINIC, { categories: ['body'] }), { dpc: 4, ei: 0.5, cb: 0.5, score: 2.5, level: 'medium' }],
    ['verification service (codes only): max(1, floor 2) × 1 + 0.5 = 2.5, medium',
      leak(VERIFIER), { dpc: 2, ei: 1, cb: 0.5, score: 2.5, level: 'medium' }],
    ['shop login codes inherit marketing: max(1, 1) × 1 + 0.5 = 1.5, low',
      leak(SHOP_LOGIN), { dpc: 1, ei: 1, cb: 0.5, score: 1.5, level: 'low' }],
    ['tax office bodies lost, no numbers: government 3 × 0.5 + 0.5 = 2, medium',
      leak(TAX_OFFICE, { categories: ['body'], nature: ['availability'] }), { dpc: 3, ei: 0.5, cb: 0.5, score: 2, level: 'medium' }],
    ['retail numbers with metadata stolen: max(1, behavioural 2) × 1 + (0.5 + 0.5) = 3, high',
      leak(RETAIL, { categories: ['msisdn', 'delivery_metadata'], maliciousIntent: true }), { dpc: 2, ei: 1, cb: 1, score: 3, level: 'high' }],
    ['clinic metadata alone altered: 2 × negligible 0.25 + 0.5 = 1, low',
      leak(CLINIC, { categories: ['delivery_metadata'], nature: ['integrity'] }), { dpc: 2, ei: 0.25, cb: 0.5, score: 1, level: 'low' }],
    ['therapist (special category) data altered and lost: max(1, 2, 4) × 1 + (0.5 + 0.5) = 5, very high',
      leak(THERAPIST, { categories: ['msisdn', 'body', 'delivery_metadata'], nature: ['integrity', 'availability'] }),
      { dpc: 4, ei: 1, cb: 1, score: 5, level: 'very_high' }],
    ['retail numbers only, every property lost, malicious: 1 × 1 + (0.5 × 4) = 3, high',
      leak(RETAIL, { categories: ['msisdn'], nature: ['confidentiality', 'integrity', 'availability'], maliciousIntent: true }),
      { dpc: 1, ei: 1, cb: 2, score: 3, level: 'high' }],
    ['clinic numbers with metadata, no bodies: behavioural 2 × 1 + 0.5 = 2.5, medium',
      leak(CLINIC, { categories: ['msisdn', 'delivery_metadata'] }), { dpc: 2, ei: 1, cb: 0.5, score: 2.5, level: 'medium' }],
    ['bank numbers only: contact data 1 × 1 + 0.5 = 1.5, low',
      leak(BANK, { categories: ['msisdn'] }), { dpc: 1, ei: 1, cb: 0.5, score: 1.5, level: 'low' }],
  ])('%s', (_, input, expected) => {
    expect(summary(input)).toEqual(expected);
  });

  it('explains the bank example in full, for the notification draft', () => {
    expect(assessSeverity(leak(BANK, { maliciousIntent: true })).explanation).toBe(
      'Severity: very high (3 × 1 + 1 = 4), by the ENISA methodology for personal data breaches (2013): DPC × EI + CB,'
      + ' low below 2, medium from 2, high from 3, very high from 4.'
      + ' Data processing context (DPC) 3: the highest of: phone numbers are contact details (simple data, 1);'
      + ' message bodies of financial messages (financial data, 3), which its one-time passwords inherit.'
      + ' Ease of identification (EI) 1 (maximum): phone numbers with message bodies identify the recipients directly.'
      + ' Circumstances of the breach (CB) 1: loss of confidentiality +0.5 (recipients not known), malicious intent suspected +0.5.',
    );
  });

  it('names what each factor was read from', () => {
    const verifier = assessSeverity(leak(VERIFIER, { categories: ['body'] }));
    expect(verifier.dpc.basis).toBe('message bodies of one-time passwords only, for accounts of unknown kind (2, the floor for a credential)');
    expect(verifier.ei.basis).toBe('message bodies without phone numbers may name a recipient, but do not point to one');
    const tax = assessSeverity(leak(TAX_OFFICE, { categories: ['body'] }));
    expect(tax.dpc.basis).toBe('message bodies of government messages (financial data, 3), which its one-time passwords inherit');
    const unknown = assessSeverity(leak({ messageKinds: [], specialCategoryData: false }, { categories: ['body'] }));
    expect(unknown.dpc).toMatchObject({ value: 1, basis: 'message bodies of a sender with no message kinds on record (simple data, 1)' });
    const numbers = assessSeverity(leak(RETAIL, { categories: ['msisdn'], nature: ['integrity', 'availability'] }));
    expect(numbers.ei.basis).toBe('a phone number is unique to its subscriber and identifies them directly');
    expect(numbers.cb.basis).toBe('loss of integrity +0.5 (not shown to be recoverable), loss of availability +0.5 (not shown to be temporary)');
  });

  it('scores health kind and declared special-category data as sensitive whatever else is sent', () => {
    expect(assessSeverity(leak({ messageKinds: ['marketing', 'health', 'financial'], specialCategoryData: false })).dpc.value).toBe(4);
    expect(assessSeverity(leak({ messageKinds: ['marketing'], specialCategoryData: true })).dpc.value).toBe(4);
  });
});

describe('ENISA severity: level boundaries (low < 2 ≤ medium < 3 ≤ high < 4 ≤ very high)', () => {
  it.each([
    [1, 1, 0.75, 1.75, 'low'],
    [1, 1, 1, 2, 'medium'],
    [2, 1, 0.75, 2.75, 'medium'],
    [2, 1, 1, 3, 'high'],
    [3, 1, 0.75, 3.75, 'high'],
    [3, 1, 1, 4, 'very_high'],
    [4, 0.25, 0, 1, 'low'],
    [4, 1, 2, 6, 'very_high'],
  ])('%d × %d + %d = %d is %s', (dpc, ei, cb, score, level) => {
    const reason = 'boundary check';
    const input = leak(RETAIL, { overrides: { dpc: { value: dpc, reason }, ei: { value: ei, reason }, cb: { value: cb, reason } } });
    expect(summary(input)).toEqual({ dpc, ei, cb, score, level });
  });
});

describe('ENISA severity: overrides', () => {
  it('DPC: a retail sender whose confirmations carry card digits is raised to financial, 3 × 1 + 0.5 = 3.5, high', () => {
    const result = assessSeverity(leak(RETAIL, { overrides: { dpc: { value: 3, reason: '  Order confirmations carry card digits and amounts ' } } }));
    expect(result.dpc).toEqual({
      value: 3, suggested: 1, basis: 'the highest of: phone numbers are contact details (simple data, 1); message bodies of transactional and marketing messages (simple data, 1)',
      overrideReason: 'Order confirmations carry card digits and amounts',
    });
    expect([result.ei.overrideReason, result.cb.overrideReason]).toEqual([null, null]);
    expect([result.score, result.level]).toEqual([3.5, 'high']);
    expect(result.explanation).toContain('Data processing context (DPC) 3, set by the assessor instead of the suggested 1 (the highest of: phone numbers'
      + ' are contact details (simple data, 1); message bodies of transactional and marketing messages (simple data, 1)) because:'
      + ' Order confirmations carry card digits and amounts.');
  });

  it('EI: clinic bodies that name the patient are raised to maximum, 4 × 1 + 0.5 = 4.5, very high', () => {
    const result = assessSeverity(leak(CLINIC, { categories: ['body'], overrides: { ei: { value: 1, reason: 'Reminders address patients by full name' } } }));
    expect(result.ei).toMatchObject({ value: 1, suggested: 0.5, overrideReason: 'Reminders address patients by full name' });
    expect([result.score, result.level]).toEqual([4.5, 'very_high']);
    expect(result.explanation).toContain('Ease of identification (EI) 1 (maximum), set by the assessor instead of the suggested 0.5');
  });

  it('CB: a batch misrouted to one known carrier is lowered to +0.25 + malicious 0.5, 2 × 1 + 0.75 = 2.75, medium (was 3, high)', () => {
    const input = leak(RETAIL, { categories: ['msisdn', 'delivery_metadata'], maliciousIntent: true });
    expect(summary(input)).toMatchObject({ score: 3, level: 'high' });
    const result = assessSeverity({ ...input, overrides: { cb: { value: 0.75, reason: 'Disclosed to one known carrier only' } } });
    expect(result.cb).toMatchObject({ value: 0.75, suggested: 1, overrideReason: 'Disclosed to one known carrier only' });
    expect([result.score, result.level]).toEqual([2.75, 'medium']);
  });

  it.each([
    ['dpc', 0], ['dpc', 5], ['dpc', 2.5], ['dpc', NaN],
    ['ei', 0], ['ei', 0.3], ['ei', 1.25],
    ['cb', -0.25], ['cb', 2.25], ['cb', 0.3],
  ] as const)('refuses an override of %s to %d, naming the field', (name, value) => {
    const error = problem(leak(RETAIL, { overrides: { [name]: { value, reason: 'because' } } }));
    expect(error.errors).toEqual([{ field: `overrides.${name}`, messages: [expect.stringContaining(`${name.toUpperCase()} must be`)] }]);
    expect(error.message).toBe(`Invalid fields: overrides.${name}`);
  });

  it('refuses an override without a reason, and names every bad input at once', () => {
    const error = problem(leak(RETAIL, { overrides: { dpc: { value: 2, reason: '   ' }, ei: { value: 0.6, reason: '' }, cb: { value: 1, reason: 'ok' } } }));
    expect(error.errors).toEqual([
      { field: 'overrides.dpc', messages: ['an override needs a reason'] },
      { field: 'overrides.ei', messages: ['EI must be 0.25, 0.5, 0.75 or 1 (got 0.6)', 'an override needs a reason'] },
    ]);
  });
});

describe('ENISA severity: inputs it cannot score', () => {
  it('needs at least one data category and one lost property, and only known ones', () => {
    expect(problem(leak(RETAIL, { categories: [], nature: [] })).errors.map((e) => e.field)).toEqual(['categories', 'nature']);
    expect(problem(leak(RETAIL, { categories: ['sender' as never] })).errors.map((e) => e.field)).toEqual(['categories']);
    expect(problem(leak(RETAIL, { nature: ['theft' as never] })).errors.map((e) => e.field)).toEqual(['nature']);
    expect(problem(leak({ messageKinds: ['crypto' as never], specialCategoryData: false })).errors.map((e) => e.field))
      .toEqual(['dataProfile.messageKinds']);
  });
});
