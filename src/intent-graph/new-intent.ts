/**
 * A fresh, valid intent from a goal typed by a person: what a CLI or a UI
 * creates before any planner has touched it.
 *
 * @module
 */
import { randomHex } from '../internal/random-id.js';
import type { StorableIntent } from './types.js';

/** Options of {@link newIntent}. */
export interface NewIntentOptions {
  /** The id (default `intent-<16 random hex digits>`). */
  id?: string;
  /** Recorded as `generation_context.arbiter_version` (default `archive-storage`). */
  arbiterVersion?: string;
  /** Clock in unix milliseconds (default `Date.now()`). */
  now?: number;
}

/** A new `Active` intent for `goal`, triggered by a human request, with every optional field `null` or empty. */
export function newIntent(goal: string, options: NewIntentOptions = {}): StorableIntent {
  const seconds = Math.floor((options.now ?? Date.now()) / 1000);
  return {
    intent_id: options.id ?? `intent-${randomHex(8)}`,
    name: null,
    session_id: null,
    original_request: goal,
    rtfs_intent_source: '',
    goal,
    constraints: {},
    preferences: {},
    success_criteria: null,
    parent_intent: null,
    child_intents: [],
    triggered_by: 'HumanRequest',
    generation_context: {
      arbiter_version: options.arbiterVersion ?? 'archive-storage',
      generation_timestamp: seconds,
      input_context: {},
      reasoning_trace: null,
    },
    status: 'Active',
    priority: 0,
    created_at: seconds,
    updated_at: seconds,
    metadata: {},
  };
}
