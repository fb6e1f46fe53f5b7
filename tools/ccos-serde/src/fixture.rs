//! The adversarial graph of the fixtures.

use crate::types::*;


pub fn map(pairs: &[(&str, &str)]) -> Map<String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub const MAX_SAFE: u64 = 9_007_199_254_740_991; // 2^53 - 1

pub fn id(n: u32) -> String {
    format!("intent-{:016x}", n)
}

#[allow(clippy::too_many_arguments)]
pub fn intent(n: u32, status: IntentStatus, trigger: TriggerSource, goal: &str, priority: u32, time: u64) -> StorableIntent {
    StorableIntent {
        intent_id: id(n),
        name: Some(format!("intent {}", n)),
        session_id: None,
        original_request: format!("request {}", n),
        rtfs_intent_source: format!("(intent \"i{}\" :goal \"{}\")", n, goal.replace('\\', "\\\\").replace('"', "\\\"")),
        goal: goal.to_string(),
        constraints: Map::default(),
        preferences: Map::default(),
        success_criteria: None,
        parent_intent: None,
        child_intents: vec![],
        triggered_by: trigger,
        generation_context: GenerationContext {
            arbiter_version: "0.3.1".to_string(),
            generation_timestamp: time,
            input_context: Map::default(),
            reasoning_trace: None,
        },
        status,
        priority,
        created_at: time,
        updated_at: time + 600,
        metadata: Map::default(),
    }
}

pub fn graph() -> (Vec<StorableIntent>, Vec<Edge>) {
    use EdgeType::*;
    use IntentStatus::*;
    use TriggerSource::*;
    let t = 1_724_230_000;

    let mut i1 = intent(1, Active, HumanRequest, "ship it\nthen test\t(all of it)", 10, t);
    i1.name = Some("deploy \"web\" ; (now)".to_string());
    i1.constraints = map(&[("budget", "(< cost 100)"), ("__proto__", "{\"polluted\":true}"), ("constructor", "x")]);
    i1.preferences = map(&[("style", "careful"), ("toString", "not a function")]);
    i1.child_intents = vec![id(2), id(3)];
    i1.generation_context.input_context = map(&[("prompt", "deploy the web app"), ("hasOwnProperty", "1")]);

    let mut i2 = intent(2, Executing, PlanExecution, "NUL:\u{0}|LS:\u{2028}|PS:\u{2029}|BOM:\u{feff}|astral:\u{1F600}\u{1D11E}", u32::MAX, MAX_SAFE - 600);
    i2.name = None;
    i2.session_id = Some("session-\u{3b1}\u{3b2}".to_string());
    i2.parent_intent = Some(id(1));
    i2.created_at = MAX_SAFE;
    i2.updated_at = MAX_SAFE;
    i2.generation_context.generation_timestamp = MAX_SAFE;
    i2.generation_context.reasoning_trace = Some("because\u{2028}it was asked \u{1F916}".to_string());
    i2.metadata = map(&[("\u{feff}bom-key", "\u{0}"), ("emoji-\u{1F600}", "\u{10FFFF}")]);

    let mut i3 = intent(3, Completed, SystemEvent, "controls \u{1}\u{8}\u{c}\u{1f}\u{7f} and \\ and \"", 0, 0);
    i3.success_criteria = Some("(= status :done)".to_string());
    i3.parent_intent = Some(id(1));
    i3.updated_at = 0;

    let mut i4 = intent(4, Failed, IntentCompletion, "failed: </script><!--", 1, t + 1);
    i4.metadata = map(&[("__proto__", "{\"isAdmin\":true}"), ("error", "timeout after 30s")]);

    let mut i5 = intent(5, Archived, ArbiterInference, "", 4_000_000_000, t + 2);
    i5.rtfs_intent_source = String::new();
    i5.generation_context.input_context = map(&[("__proto__", "a"), ("prompt", "infer")]);
    i5.generation_context.reasoning_trace = Some(String::new());

    let mut i6 = intent(6, Suspended, HumanRequest, "C:\\path\\to\\\"file\"", 7, t + 3);
    i6.name = Some(String::new());
    i6.original_request = "\u{0}".to_string();

    let mut i7 = intent(7, Active, PlanExecution, "orphan references", 2, t + 4);
    i7.parent_intent = Some("intent-deadbeefdeadbeef".to_string());
    i7.child_intents = vec![id(1), "intent-feedfacefeedface".to_string()];

    let edge = |from: u32, to: &str, edge_type, metadata: Option<Map<String>>, weight| Edge { from: id(from), to: to.to_string(), edge_type, metadata, weight };
    let edges = vec![
        edge(2, &id(1), IsSubgoalOf, Some(Map::default()), Some(1.0)),
        edge(3, &id(1), IsSubgoalOf, None, Some(0.1)),
        edge(1, &id(4), DependsOn, Some(map(&[("__proto__", "x"), ("reason", "needs \u{0} data")])), Some(1e-7)),
        edge(4, &id(5), ConflictsWith, None, Some(0.30000000000000004)),
        edge(5, &id(6), Enables, None, Some(-2.5)),
        edge(6, &id(7), RelatedTo, None, None),
        edge(7, &id(1), TriggeredBy, Some(map(&[("why", "LS\u{2028}here")])), Some(1e-6)),
        edge(1, &id(3), Blocks, None, Some(1e20)),
        // A duplicate of the Enables edge (CCOS keeps equal edges in a Vec; its archive stores them once).
        edge(5, &id(6), Enables, None, Some(-2.5)),
        // Dangling: names an intent that does not exist.
        edge(1, "intent-ffffffffffffffff", DependsOn, None, Some(0.5)),
        // A self-loop.
        edge(3, &id(3), RelatedTo, None, Some(5e-324)),
    ];
    (vec![i1, i2, i3, i4, i5, i6, i7], edges)
}

