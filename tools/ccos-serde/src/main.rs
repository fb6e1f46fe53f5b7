//! ccos-serde: the CCOS intent-graph types and FileArchive, mirrored field for
//! field with serde and serde_json, so that archive-storage can be checked
//! against the bytes the original Rust system writes and reads.
//!
//! Subcommands:
//!   gen-fixtures <dir>   writes <dir>/storage-backup-v1.1.json (a StorageBackupData
//!                        v1.1 as CCOS writes it) and <dir>/file-archive-storage/
//!                        (a FileArchiveStorage directory) of one adversarial graph
//!   read-backup <file>   parses a StorageBackupData with serde and prints a summary
//!   read-archive <dir>   opens a FileArchiveStorage directory the way CCOS does,
//!                        checks every object's name against its content hash and
//!                        prints a summary
//!
//! A summary is JSON: `serde_json::Value` maps are sorted, so it is stable
//! whatever order the HashMaps had. Exit codes: 0 ok, 1 the input is bad, 2 usage.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fs;
use std::hash::BuildHasherDefault;
use std::path::{Path, PathBuf};
use std::process::exit;

/// CCOS uses `HashMap` (random iteration order per process). A fixed hasher keeps
/// that "arbitrary, not sorted" order but makes it the same on every run, so
/// the fixtures can be made again byte for byte.
type Map<V> = HashMap<String, V, BuildHasherDefault<DefaultHasher>>;

// ---------------------------------------------------------------------------
// The CCOS types (rtfs_compiler/src/ccos/types.rs, intent_graph.rs, intent_storage.rs)
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum IntentStatus {
    Active,
    Executing,
    Completed,
    Failed,
    Archived,
    Suspended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum TriggerSource {
    HumanRequest,
    PlanExecution,
    SystemEvent,
    IntentCompletion,
    ArbiterInference,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct GenerationContext {
    arbiter_version: String,
    generation_timestamp: u64,
    input_context: Map<String>,
    reasoning_trace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StorableIntent {
    intent_id: String,
    name: Option<String>,
    session_id: Option<String>,
    original_request: String,
    rtfs_intent_source: String,
    goal: String,
    constraints: Map<String>,
    preferences: Map<String>,
    success_criteria: Option<String>,
    parent_intent: Option<String>,
    child_intents: Vec<String>,
    triggered_by: TriggerSource,
    generation_context: GenerationContext,
    status: IntentStatus,
    priority: u32,
    created_at: u64,
    updated_at: u64,
    metadata: Map<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum EdgeType {
    DependsOn,
    IsSubgoalOf,
    ConflictsWith,
    Enables,
    RelatedTo,
    TriggeredBy,
    Blocks,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Edge {
    from: String,
    to: String,
    edge_type: EdgeType,
    metadata: Option<Map<String>>,
    weight: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BackupManifest {
    created_by: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StorageBackupData {
    intents: Map<StorableIntent>,
    edges: Vec<Edge>,
    version: String,
    timestamp: u64,
    #[serde(default)]
    manifest: Option<BackupManifest>,
    #[serde(default)]
    rtfs: Option<String>,
}

impl StorageBackupData {
    /// As CCOS's `StorageBackupData::new`, with the time given (CCOS takes "now").
    fn new(intents: Map<StorableIntent>, edges: Vec<Edge>, timestamp: u64) -> Self {
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
fn render_rtfs(intents: &Map<StorableIntent>, edges: &[Edge]) -> String {
    fn esc(s: &str) -> String {
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

// ---------------------------------------------------------------------------
// FileArchive and FileArchiveStorage (storage_backends/file_archive.rs, intent_storage.rs)
// ---------------------------------------------------------------------------

/// CCOS's `Archivable::content_hash`: SHA-256 (lowercase hex) of the compact serde JSON.
fn content_hash<T: Serialize>(entity: &T) -> String {
    let json = serde_json::to_string(entity).expect("serialise");
    hex(&Sha256::digest(json.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{:02x}", b)).collect()
}

/// Each entity as pretty JSON at `<base>/<aa>/<bb>/<hash>.json`, and
/// `index.json`, a pretty map hash -> relative path.
struct FileArchive {
    base_dir: PathBuf,
    index: Map<String>,
}

impl FileArchive {
    /// Opens (creating when `create`) the archive; a missing or unreadable index is
    /// an empty one, as CCOS reads it (`unwrap_or_default`).
    fn open(dir: &Path, create: bool) -> Result<Self, String> {
        if create {
            fs::create_dir_all(dir).map_err(|e| format!("create {}: {}", dir.display(), e))?;
        }
        let index_path = dir.join("index.json");
        let index = if index_path.exists() {
            let text = fs::read_to_string(&index_path).map_err(|e| format!("read {}: {}", index_path.display(), e))?;
            serde_json::from_str(&text).unwrap_or_default()
        } else {
            Map::default()
        };
        Ok(FileArchive { base_dir: dir.to_path_buf(), index })
    }

    fn default_rel_path(hash: &str) -> String {
        format!("{}/{}/{}.json", &hash[0..2], &hash[2..4], hash)
    }

    fn store<T: Serialize>(&mut self, entity: &T) -> Result<String, String> {
        let hash = content_hash(entity);
        let rel = self.index.get(&hash).cloned().unwrap_or_else(|| Self::default_rel_path(&hash));
        let path = self.base_dir.join(&rel);
        let json = serde_json::to_string_pretty(entity).map_err(|e| e.to_string())?;
        write_file(&path, json.as_bytes())?;
        self.index.insert(hash.clone(), rel);
        let index = serde_json::to_string_pretty(&self.index).map_err(|e| e.to_string())?;
        write_file(&self.base_dir.join("index.json"), index.as_bytes())?;
        Ok(hash)
    }

    /// Hashes as CCOS lists them: the index's keys.
    fn list_hashes(&self) -> Vec<String> {
        let mut hashes: Vec<String> = self.index.keys().cloned().collect();
        hashes.sort();
        hashes
    }

    /// The entity and its file, or None when the file is gone (CCOS skips those).
    /// Checks what CCOS's `verify_integrity` checks: the name is the content hash.
    fn retrieve<T: Serialize + for<'de> Deserialize<'de>>(&self, hash: &str) -> Result<Option<T>, String> {
        let rel = self.index.get(hash).cloned().unwrap_or_else(|| Self::default_rel_path(hash));
        let path = self.base_dir.join(&rel);
        if !path.exists() {
            return Ok(None);
        }
        let text = fs::read_to_string(&path).map_err(|e| format!("read {}: {}", path.display(), e))?;
        let entity: T = serde_json::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e))?;
        let actual = content_hash(&entity);
        if actual != hash {
            return Err(format!("{}: content hash is {}, not its name {}", path.display(), actual, hash));
        }
        let compact: String = strip_whitespace(&text);
        if content_hash_of_text(&compact) != hash {
            return Err(format!("{}: the file without whitespace does not hash to its name", path.display()));
        }
        Ok(Some(entity))
    }
}

fn content_hash_of_text(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// The file with insignificant whitespace removed (what `to_string` writes).
fn strip_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            out.push(c);
        }
    }
    out
}

/// Written whole, then renamed (CCOS's atomic_write_with_lock, without the lock file).
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("create {}: {}", parent.display(), e))?;
    }
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, bytes).map_err(|e| format!("write {}: {}", tmp.display(), e))?;
    fs::rename(&tmp, path).map_err(|e| format!("rename {}: {}", path.display(), e))
}

/// An `intents/` and an `edges/` FileArchive under one directory.
struct FileArchiveStorage {
    intents: FileArchive,
    edges: FileArchive,
}

impl FileArchiveStorage {
    fn open(dir: &Path, create: bool) -> Result<Self, String> {
        Ok(FileArchiveStorage {
            intents: FileArchive::open(&dir.join("intents"), create)?,
            edges: FileArchive::open(&dir.join("edges"), create)?,
        })
    }

    /// As CCOS's `load_indexes`: intent id -> intent, edge hash -> edge.
    fn load(&self) -> Result<(Map<(String, StorableIntent)>, Vec<(String, Edge)>), String> {
        let mut intents = Map::default();
        for hash in self.intents.list_hashes() {
            if let Some(intent) = self.intents.retrieve::<StorableIntent>(&hash)? {
                intents.insert(intent.intent_id.clone(), (hash, intent));
            }
        }
        let mut edges = Vec::new();
        for hash in self.edges.list_hashes() {
            if let Some(edge) = self.edges.retrieve::<Edge>(&hash)? {
                edges.push((hash, edge));
            }
        }
        Ok((intents, edges))
    }
}

// ---------------------------------------------------------------------------
// The adversarial graph
// ---------------------------------------------------------------------------

fn map(pairs: &[(&str, &str)]) -> Map<String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const MAX_SAFE: u64 = 9_007_199_254_740_991; // 2^53 - 1

fn id(n: u32) -> String {
    format!("intent-{:016x}", n)
}

#[allow(clippy::too_many_arguments)]
fn intent(n: u32, status: IntentStatus, trigger: TriggerSource, goal: &str, priority: u32, time: u64) -> StorableIntent {
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

fn graph() -> (Vec<StorableIntent>, Vec<Edge>) {
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

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/// Fixed backup time (CCOS uses "now"): 2024-08-21T08:58:20Z.
const FIXTURE_TIMESTAMP: u64 = 1_724_230_700;

fn gen_fixtures(dir: &Path) -> Result<(), String> {
    let (intents, edges) = graph();
    fs::create_dir_all(dir).map_err(|e| format!("create {}: {}", dir.display(), e))?;

    let by_id: Map<StorableIntent> = intents.iter().map(|i| (i.intent_id.clone(), i.clone())).collect();
    let backup = StorageBackupData::new(by_id, edges.clone(), FIXTURE_TIMESTAMP);
    // CCOS writes `to_string_pretty` bytes, without a final newline.
    let text = serde_json::to_string_pretty(&backup).map_err(|e| e.to_string())?;
    write_file(&dir.join("storage-backup-v1.1.json"), text.as_bytes())?;

    let root = dir.join("file-archive-storage");
    if root.exists() {
        fs::remove_dir_all(&root).map_err(|e| format!("remove {}: {}", root.display(), e))?;
    }
    let mut storage = FileArchiveStorage::open(&root, true)?;
    for i in &intents {
        storage.intents.store(i)?;
    }
    for e in &edges {
        storage.edges.store(e)?;
    }
    eprintln!("wrote {} and {}", dir.join("storage-backup-v1.1.json").display(), root.display());
    Ok(())
}

fn summary_of_intents<'a>(intents: impl Iterator<Item = &'a StorableIntent>) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for i in intents {
        out.insert(i.intent_id.clone(), serde_json::to_value(i).expect("value"));
    }
    serde_json::Value::Object(out)
}

fn read_backup(file: &Path) -> Result<serde_json::Value, String> {
    let text = fs::read_to_string(file).map_err(|e| format!("read {}: {}", file.display(), e))?;
    let data: StorageBackupData = serde_json::from_str(&text).map_err(|e| format!("{}: {}", file.display(), e))?;
    Ok(serde_json::json!({
        "version": data.version,
        "timestamp": data.timestamp,
        "manifest": data.manifest,
        "rtfs": data.rtfs,
        "intents": summary_of_intents(data.intents.values()),
        "edges": data.edges,
    }))
}

fn read_archive(dir: &Path) -> Result<serde_json::Value, String> {
    for sub in ["intents", "edges"] {
        if !dir.join(sub).is_dir() {
            return Err(format!("{} has no {}/ folder: not a FileArchiveStorage", dir.display(), sub));
        }
    }
    let storage = FileArchiveStorage::open(dir, false)?;
    let (intents, edges) = storage.load()?;
    let mut intent_hashes = serde_json::Map::new();
    for (id, (hash, _)) in intents.iter() {
        intent_hashes.insert(id.clone(), serde_json::Value::String(hash.clone()));
    }
    Ok(serde_json::json!({
        "intents": summary_of_intents(intents.values().map(|(_, i)| i)),
        "edges": edges.iter().map(|(_, e)| e).collect::<Vec<_>>(),
        "intent_hashes": intent_hashes,
        "edge_hashes": edges.iter().map(|(h, _)| h).collect::<Vec<_>>(),
    }))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: ccos-serde gen-fixtures <dir> | read-backup <file> | read-archive <dir>";
    if args.len() != 3 {
        eprintln!("{}", usage);
        exit(2);
    }
    let path = Path::new(&args[2]);
    let result = match args[1].as_str() {
        "gen-fixtures" => gen_fixtures(path).map(|_| None),
        "read-backup" => read_backup(path).map(Some),
        "read-archive" => read_archive(path).map(Some),
        _ => {
            eprintln!("{}", usage);
            exit(2);
        }
    };
    match result {
        Ok(Some(value)) => println!("{}", serde_json::to_string_pretty(&value).expect("print")),
        Ok(None) => {}
        Err(e) => {
            eprintln!("ccos-serde: {}", e);
            exit(1);
        }
    }
}
