import { describe, expect, it } from 'vitest';
import { newIntent } from '../src/intent-graph/new-intent.js';
import { validateIntent } from '../src/intent-graph/validate.js';

describe('newIntent', () => {
  it('makes a valid Active intent for a goal', () => {
    const i = newIntent('book a table for two', { now: 1_700_000_000_500 });
    expect(validateIntent(i)).toEqual(i);
    expect(i).toMatchObject({ goal: 'book a table for two', original_request: 'book a table for two', status: 'Active', created_at: 1_700_000_000 });
    expect(i.intent_id).toMatch(/^intent-[0-9a-f]{16}$/);
    expect(i.generation_context.arbiter_version).toBe('archive-storage');
  });
  it('takes an id and an arbiter version, and never repeats a random id', () => {
    expect(newIntent('g', { id: 'x-1', arbiterVersion: 'cli/1' })).toMatchObject({ intent_id: 'x-1', generation_context: { arbiter_version: 'cli/1' } });
    const ids = new Set(Array.from({ length: 1000 }, () => newIntent('g').intent_id));
    expect(ids.size).toBe(1000);
  });
});
