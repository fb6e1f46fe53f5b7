/**
 * One description of the CCOS shapes, read by the JSON validator, the RTFS
 * printer and the RTFS reader, so that the three can never disagree on a
 * field name, its order, its type or its RTFS key.
 *
 * Field order is the Rust struct's declaration order (what serde writes).
 * RTFS keys are the kebab-case of the field name, except where the original
 * CCOS snapshot printer already chose a name (`:id`, `:rtfs-intent`, `:type`).
 *
 * @internal
 * @module
 */
import { EDGE_TYPES, INTENT_STATUSES, TRIGGER_SOURCES } from './types.js';

/** The type of one field. `nullable*` fields may also be missing (serde reads a missing `Option` as `None`). */
export type FieldKind =
  | { readonly type: 'string' }
  | { readonly type: 'nullableString' }
  | { readonly type: 'u32' }
  | { readonly type: 'u64' }
  | { readonly type: 'nullableNumber' }
  | { readonly type: 'stringMap' }
  | { readonly type: 'nullableStringMap' }
  | { readonly type: 'stringArray' }
  | { readonly type: 'enum'; readonly name: string; readonly values: readonly string[] }
  | { readonly type: 'object'; readonly fields: readonly FieldSpec[] };

/** One field: its JSON (serde) name, its RTFS keyword (without ':') and its type. */
export interface FieldSpec {
  readonly name: string;
  readonly rtfs: string;
  readonly kind: FieldKind;
}

const f = (name: string, kind: FieldKind, rtfs = name.replace(/_/g, '-')): FieldSpec => ({ name, rtfs, kind });
const STRING: FieldKind = { type: 'string' };
const NULLABLE_STRING: FieldKind = { type: 'nullableString' };
const U64: FieldKind = { type: 'u64' };
const STRING_MAP: FieldKind = { type: 'stringMap' };

/** `GenerationContext`. */
export const GENERATION_CONTEXT_FIELDS: readonly FieldSpec[] = Object.freeze([
  f('arbiter_version', STRING),
  f('generation_timestamp', U64),
  f('input_context', STRING_MAP),
  f('reasoning_trace', NULLABLE_STRING),
]);

/** `StorableIntent`. */
export const INTENT_FIELDS: readonly FieldSpec[] = Object.freeze([
  f('intent_id', STRING, 'id'),
  f('name', NULLABLE_STRING),
  f('session_id', NULLABLE_STRING),
  f('original_request', STRING),
  f('rtfs_intent_source', STRING, 'rtfs-intent'),
  f('goal', STRING),
  f('constraints', STRING_MAP),
  f('preferences', STRING_MAP),
  f('success_criteria', NULLABLE_STRING),
  f('parent_intent', NULLABLE_STRING),
  f('child_intents', { type: 'stringArray' }),
  f('triggered_by', { type: 'enum', name: 'TriggerSource', values: TRIGGER_SOURCES }),
  f('generation_context', { type: 'object', fields: GENERATION_CONTEXT_FIELDS }),
  f('status', { type: 'enum', name: 'IntentStatus', values: INTENT_STATUSES }),
  f('priority', { type: 'u32' }),
  f('created_at', U64),
  f('updated_at', U64),
  f('metadata', STRING_MAP),
]);

/** `Edge`. */
export const EDGE_FIELDS: readonly FieldSpec[] = Object.freeze([
  f('from', STRING),
  f('to', STRING),
  f('edge_type', { type: 'enum', name: 'EdgeType', values: EDGE_TYPES }, 'type'),
  f('metadata', { type: 'nullableStringMap' }),
  f('weight', { type: 'nullableNumber' }),
]);

/** True for kinds whose value may be `null` or missing. */
export function isNullable(kind: FieldKind): boolean {
  return kind.type === 'nullableString' || kind.type === 'nullableNumber' || kind.type === 'nullableStringMap';
}

/** Sets an own, enumerable data property, so that a key like `__proto__` stays plain data. */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `Object.hasOwn`, spelled out for older lib typings. */
export function hasOwn(target: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(target, key);
}
