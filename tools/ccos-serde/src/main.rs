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

mod archive;
mod fixture;
mod types;

use archive::{write_file, FileArchiveStorage};
use std::fs;
use std::path::Path;
use std::process::exit;
use types::{Map, StorableIntent, StorageBackupData};

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/// Fixed backup time (CCOS uses "now"): 2024-08-21T08:58:20Z.
const FIXTURE_TIMESTAMP: u64 = 1_724_230_700;

fn gen_fixtures(dir: &Path) -> Result<(), String> {
    let (intents, edges) = fixture::graph();
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
