import { ConflictError, InvalidTransitionError } from '../common/errors';
import { SUBPROCESSOR_STATUSES } from './subprocessor.entity';
import {
  applyChanges, carriesFor, checkManualTransition, manualTransitions, shapeProblems, splitMaterial, SubprocessorShape, transferProblem,
} from './subprocessor-rules';
import { ADEQUATE_COUNTRIES, EU_EEA_COUNTRIES } from './transfer-countries';

const carrier: SubprocessorShape = {
  legalEntity: 'Carrier AG', parentCompany: null, country: 'DE', role: 'mobile_operator', services: ['SMS termination'],
  purpose: 'delivers SMS', dataCategories: ['msisdn', 'body'], carriesCountries: ['DE'], global: false,
  transferMechanism: 'none', certifications: [], lastSecurityReview: null,
};

describe('sub-processor lifecycle', () => {
  it('allows exactly the DPO transitions of the table', () => {
    const allowed = SUBPROCESSOR_STATUSES.flatMap((from) => SUBPROCESSOR_STATUSES.filter((to) => {
      try { checkManualTransition(from, to); return true; } catch { return false; }
    }).map((to) => `${from}->${to}`));
    expect(allowed.sort()).toEqual(['active->suspended', 'proposed->approved', 'suspended->active', 'suspended->offboarded']);
  });

  it('refuses approved -> active with a pointer to change notices, and names the allowed ones otherwise', () => {
    expect(() => checkManualTransition('approved', 'active')).toThrow(ConflictError);
    expect(() => checkManualTransition('approved', 'active')).toThrow(/change notice/);
    expect(() => checkManualTransition('proposed', 'active')).toThrow(InvalidTransitionError);
    expect(() => checkManualTransition('proposed', 'active')).toThrow(/allowed: approved/);
    expect(manualTransitions('offboarded')).toEqual([]);
  });
});

describe('transfer rule', () => {
  it('accepts none inside the EU/EEA and for fully adequate countries', () => {
    for (const c of [...EU_EEA_COUNTRIES, ...ADEQUATE_COUNTRIES]) expect(transferProblem(c, 'none')).toBeNull();
  });

  it('refuses none for a third country without adequacy, and for partially adequate ones', () => {
    expect(transferProblem('IN', 'none')).toMatch(/transferMechanism none.*IN/);
    expect(transferProblem('US', 'none')).toMatch(/covers only some organisations/);
    expect(transferProblem('US', 'adequacy')).toBeNull();
    expect(transferProblem('IN', 'adequacy')).toMatch(/no EU adequacy decision/);
    expect(transferProblem('IN', 'scc')).toBeNull();
    expect(transferProblem('BR', 'bcr')).toBeNull();
  });

  it('names transferMechanism as the field at fault', () => {
    expect(shapeProblems({ ...carrier, country: 'IN' }).map((p) => p.field)).toEqual(['transferMechanism']);
  });

  it('needs carried countries or global for carriers, not for hosting', () => {
    expect(shapeProblems({ ...carrier, carriesCountries: [] }).map((p) => p.field)).toEqual(['carriesCountries']);
    expect(shapeProblems({ ...carrier, carriesCountries: [], global: true })).toEqual([]);
    expect(shapeProblems({ ...carrier, role: 'hosting', carriesCountries: [] })).toEqual([]);
    expect(shapeProblems({ ...carrier, global: true }).map((p) => p.field)).toEqual(['carriesCountries']);
  });
});

describe('coverage', () => {
  it('a carrier serves the customers whose destinations it carries; hosting, support and global ones serve everyone', () => {
    expect(carriesFor(carrier, ['FR', 'DE'])).toBe(true);
    expect(carriesFor(carrier, ['FR'])).toBe(false);
    expect(carriesFor({ ...carrier, role: 'hosting' }, ['FR'])).toBe(true);
    expect(carriesFor({ ...carrier, role: 'support' }, [])).toBe(true);
    expect(carriesFor({ ...carrier, global: true, carriesCountries: [] }, ['JP'])).toBe(true);
  });
});

describe('material changes', () => {
  it('country, ownership, services and data categories are material; purpose is not', () => {
    const { immediate, material } = splitMaterial(carrier, { ...carrier, country: 'FR', parentCompany: 'Holding SA', purpose: 'new words' });
    expect(Object.keys(material).sort()).toEqual(['country', 'parentCompany']);
    expect(immediate).toEqual({ purpose: { from: 'delivers SMS', to: 'new words' } });
  });

  it('widening whose traffic it carries is material, narrowing is not', () => {
    expect(Object.keys(splitMaterial(carrier, { ...carrier, carriesCountries: ['DE', 'FR'] }).material)).toEqual(['carriesCountries']);
    expect(Object.keys(splitMaterial({ ...carrier, carriesCountries: ['DE', 'FR'] }, carrier).immediate)).toEqual(['carriesCountries']);
    expect(Object.keys(splitMaterial(carrier, { ...carrier, role: 'hosting' }).material)).toEqual(['role']);
  });

  it('applies changes forwards and undoes them backwards', () => {
    const { material } = splitMaterial(carrier, { ...carrier, country: 'FR', services: ['A', 'B'] });
    const after = applyChanges({ ...carrier }, material);
    expect(after).toMatchObject({ country: 'FR', services: ['A', 'B'] });
    expect(applyChanges(after, material, 'from')).toEqual(carrier);
  });

  it('ignores fields that are not registry fields', () => {
    expect(applyChanges({ ...carrier }, { status: { from: 'approved', to: 'active' } } as never)).toEqual(carrier);
  });
});
