/**
 * The CCOS intent-graph types, field for field as the original Rust producer
 * (serde) writes them: snake_case names, enums as their variant names,
 * `null` for an absent `Option`, unix seconds for times.
 *
 * @module
 */

/** Lifecycle state of an intent. */
export type IntentStatus = 'Active' | 'Executing' | 'Completed' | 'Failed' | 'Archived' | 'Suspended';
/** Every {@link IntentStatus}, in the order the Rust enum declares them. */
export const INTENT_STATUSES: readonly IntentStatus[] = Object.freeze([
  'Active',
  'Executing',
  'Completed',
  'Failed',
  'Archived',
  'Suspended',
]);

/** What caused an intent to be created. */
export type TriggerSource = 'HumanRequest' | 'PlanExecution' | 'SystemEvent' | 'IntentCompletion' | 'ArbiterInference';
/** Every {@link TriggerSource}, in declaration order. */
export const TRIGGER_SOURCES: readonly TriggerSource[] = Object.freeze([
  'HumanRequest',
  'PlanExecution',
  'SystemEvent',
  'IntentCompletion',
  'ArbiterInference',
]);

/** Kind of relationship an {@link Edge} expresses. */
export type EdgeType = 'DependsOn' | 'IsSubgoalOf' | 'ConflictsWith' | 'Enables' | 'RelatedTo' | 'TriggeredBy' | 'Blocks';
/** Every {@link EdgeType}, in declaration order. */
export const EDGE_TYPES: readonly EdgeType[] = Object.freeze([
  'DependsOn',
  'IsSubgoalOf',
  'ConflictsWith',
  'Enables',
  'RelatedTo',
  'TriggeredBy',
  'Blocks',
]);

/** A map from string to string (serde `HashMap<String, String>`). */
export type StringMap = Record<string, string>;

/** How and from what an intent was generated, for audit and replay. */
export interface GenerationContext {
  arbiter_version: string;
  /** Unix seconds. */
  generation_timestamp: number;
  input_context: StringMap;
  reasoning_trace: string | null;
}

/** An intent as stored and backed up: only serialisable data. */
export interface StorableIntent {
  intent_id: string;
  name: string | null;
  session_id: string | null;
  original_request: string;
  /** The canonical RTFS source of the intent. */
  rtfs_intent_source: string;
  goal: string;
  /** RTFS source expressions by name. */
  constraints: StringMap;
  /** RTFS source expressions by name. */
  preferences: StringMap;
  success_criteria: string | null;
  parent_intent: string | null;
  child_intents: string[];
  triggered_by: TriggerSource;
  generation_context: GenerationContext;
  status: IntentStatus;
  /** A u32: integer 0..4294967295. */
  priority: number;
  /** Unix seconds. */
  created_at: number;
  /** Unix seconds. */
  updated_at: number;
  metadata: StringMap;
}

/** A directed relationship between two intents. Several equal edges may coexist. */
export interface Edge {
  from: string;
  to: string;
  edge_type: EdgeType;
  metadata: StringMap | null;
  /** A finite number (f64), or null. */
  weight: number | null;
}

/**
 * A whole intent graph: intents by id (the map key is always the intent's
 * `intent_id`) and the edges in their stored order.
 */
export interface IntentGraph {
  intents: Record<string, StorableIntent>;
  edges: Edge[];
}

/** Largest value of a u32 (`priority`). */
export const U32_MAX = 4_294_967_295;
