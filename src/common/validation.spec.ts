import { IsIn, IsOptional } from 'class-validator';
import { ValidationProblem } from './errors';
import { PageQuery } from './pagination';
import { createValidationPipe } from './validation';

class ThingQuery extends PageQuery {
  @IsOptional()
  @IsIn(['a', 'b'], { each: true })
  kinds?: string[];
}

const asQuery = { type: 'query', metatype: ThingQuery } as const;

describe('the validation pipe on query strings', () => {
  it('gives each request its own object for a query it has seen before, and a change to one does not reach the next', async () => {
    const pipe = createValidationPipe();
    const first = (await pipe.transform({ limit: '20', kinds: ['a'] }, asQuery)) as ThingQuery;
    expect(first).toBeInstanceOf(ThingQuery);
    expect(first).toEqual({ limit: 20, kinds: ['a'] });
    first.limit = 1;
    first.cursor = 'changed';
    const second = (await pipe.transform({ limit: '20', kinds: ['a'] }, asQuery)) as ThingQuery;
    expect(second).toBeInstanceOf(ThingQuery);
    expect(second).toEqual({ limit: 20, kinds: ['a'] });
    expect(() => second.kinds!.push('b')).toThrow(TypeError); // shared, so frozen
    expect(await pipe.transform({}, asQuery)).toEqual({ limit: 50 });
  });

  it('refuses a bad query every time it is sent', async () => {
    const pipe = createValidationPipe();
    for (let i = 0; i < 2; i++) {
      await expect(pipe.transform({ limit: '0' }, asQuery)).rejects.toBeInstanceOf(ValidationProblem);
      await expect(pipe.transform({ kinds: ['c'] }, asQuery)).rejects.toBeInstanceOf(ValidationProblem);
      await expect(pipe.transform({ limit: '20', role: 'admin' }, asQuery)).rejects.toBeInstanceOf(ValidationProblem);
    }
  });

  it('passes a query parameter of a built-in type (an array of ids) through as it is, every time', async () => {
    const pipe = createValidationPipe();
    for (let i = 0; i < 2; i++) {
      const ids = await pipe.transform(['a', 'b'], { type: 'query', metatype: Array, data: 'ids' });
      expect(Array.isArray(ids)).toBe(true);
      expect(ids).toEqual(['a', 'b']);
    }
  });

  it('tells two query classes of the same name apart', async () => {
    const pipe = createValidationPipe();
    const Other = class ThingQuery extends PageQuery {};
    await pipe.transform({ kinds: ['a'] }, asQuery);
    await expect(pipe.transform({ kinds: ['a'] }, { type: 'query', metatype: Other })).rejects.toBeInstanceOf(ValidationProblem);
  });
});
