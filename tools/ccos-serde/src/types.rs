//! The CCOS intent-graph types, field for field as serde writes them
//! (rtfs_compiler/src/ccos/types.rs, intent_graph.rs, intent_storage.rs), and
//! CCOS's lossy RTFS rendering of a backup.

use serde::{Deserialize, Serialize};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// CCOS uses `HashMap` (random iteration order per process). A fixed hasher keeps
/// that "arbitrary, not sorted" order but makes it the same on every run, so
/// the fixtures can be made again byte for byte.
pub type Map<V> = HashMap<String, V, BuildHasherDefault<DefaultHasher>>;


#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntentStatus {
    Active,
    Executing,
    Completed,
    Failed,
    Archived,
    Suspended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerSource {
    HumanRequest,
    PlanExecution,
    SystemEvent,
    IntentCompletion,
    ArbiterInference,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationContext {
    pub arbiter_version: String,
    pub generation_timestamp: u64,
    pub input_context: Map<String>,
    pub reasoning_trace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorableIntent {
    pub intent_id: String,
    pub name: Option<String>,
    pub session_id: Option<String>,
    pub original_request: String,
    pub rtfs_intent_source: String,
    pub goal: String,
    pub constraints: Map<String>,
    pub preferences: Map<String>,
    pub success_criteria: Option<String>,
    pub parent_intent: Option<String>,
    pub child_intents: Vec<String>,
    pub triggered_by: TriggerSource,
    pub generation_context: GenerationContext,
    pub status: IntentStatus,
    pub priority: u32,
    pub created_at: u64,
    pub updated_at: u64,
    pub metadata: Map<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EdgeType {
    DependsOn,
    IsSubgoalOf,
    ConflictsWith,
    Enables,
    RelatedTo,
    TriggeredBy,
    Blocks,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub edge_type: EdgeType,
    pub metadata: Option<Map<String>>,
    pub weight: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupManifest {
    pub created_by: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StorageBackupData {
    pub intents: Map<StorableIntent>,
    pub edges: Vec<Edge>,
    pub version: String,
    pub timestamp: u64,
    #[serde(default)]
    pub manifest: Option<BackupManifest>,
    #[serde(default)]
    pub rtfs: Option<String>,
}

impl StorageBackupData {
    /// As CCOS's `StorageBackupData::new`, with the time given (CCOS takes "now").
    pub fn new(intents: Map<StorableIntent>, edges: Vec<Edge>, timestamp: u64) -> Self {
        let rtfs = Some(render_rtfs(&intents, &edges));
        let manifest = Some(BackupManifest {
            created_by: "rtfs_compiler".to_string(),
            source: None,
            note: Some("Hybrid JSON+RTFS backup".to_string()),
        });
        StorageBackupData { intents, edges, version: "1.1".to_string(), timestamp, manifest, rtfs }
    }
}

/// The lossy RTFS snapshot CCOS prints beside the JSON: only `\` and `"` are
/// escaped, `Option`s that are `None` left out, `f64` printed with `Display`
/// (so `1.0` is `1` and `1e-7` is `0.0000001`).
pub fn render_rtfs(intents: &Map<StorableIntent>, edges: &[Edge]) -> String {
    pub fn esc(s: &str) -> String {
        s.replace('\\', "\\\\").replace('"', "\\\"")
    }
    let mut out = String::new();
    out.push_str(";; Intent Graph Snapshot (hybrid backup)\n(intent-graph\n  (intents\n");
    for intent in intents.values() {
        let name = match &intent.name {
            Some(n) => format!(" :name \"{}\"", esc(n)),
            None => String::new(),
        };
        let source = if intent.rtfs_intent_source.is_empty() {
            String::new()
        } else {
            format!(" :rtfs-intent \"{}\"", esc(&intent.rtfs_intent_source))
        };
        out.push_str(&format!(
            "    (intent {{:id \"{}\" :goal \"{}\" :status \"{:?}\" :priority {}{}{} }})\n",
            esc(&intent.intent_id),
            esc(&intent.goal),
            intent.status,
            intent.priority,
            name,
            source
        ));
    }
    out.push_str("  )\n  (edges\n");
    for e in edges {
        let weight = match e.weight {
            Some(w) => format!(" :weight {}", w),
            None => String::new(),
        };
        out.push_str(&format!("    (edge {{:from \"{}\" :to \"{}\" :type \"{:?}\"{} }})\n", esc(&e.from), esc(&e.to), e.edge_type, weight));
    }
    out.push_str("  )\n)\n");
    out
}

