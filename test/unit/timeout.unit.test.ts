import { describe, expect, it } from 'vitest';
import { classifyError } from '../../src/source/errors.js';
import { bounded, OperationTimeoutError, within } from '../../src/lib/timeout.js';

const never = () => new Promise<never>(() => undefined);

describe('bounded waits for MongoDB (lib/timeout.ts)', () => {
  it('within: passes a settled value through, and fails an unsettled one as infrastructure', async () => {
    await expect(within(Promise.resolve(7), 1000, 'x')).resolves.toBe(7);
    await expect(within(Promise.reject(new Error('boom')), 1000, 'x')).rejects.toThrow('boom');
    const error = await within(never(), 20, 'saving a checkpoint').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationTimeoutError);
    expect(String(error)).toMatch(/saving a checkpoint.*mongo\.operationTimeoutMs/);
    expect(classifyError(error)).toBe('infrastructure');
  });

  it('bounded: bounds every promise-returning method, keeps `this`, passes the rest through', async () => {
    class Store {
      readonly name = 'store';
      calls = 0;
      save(): Promise<string> {
        this.calls++;
        return this.calls === 1 ? never() : Promise.resolve(this.name);
      }
      label(): string {
        return `${this.name}!`;
      }
    }
    const store = bounded(new Store(), 20, 'checkpoints');
    await expect(store.save()).rejects.toThrow(/checkpoints\.save: not settled within 20 ms/);
    await expect(store.save()).resolves.toBe('store');
    expect(store.label()).toBe('store!');
    expect(store.calls).toBe(2);
  });
});
