//! CCOS's FileArchive and FileArchiveStorage (storage_backends/file_archive.rs,
//! intent_storage.rs): each entity pretty JSON at `<aa>/<bb>/<hash>.json`, named by
//! the SHA-256 of its compact JSON, and `index.json` a pretty map hash -> path.

use crate::types::{Edge, Map, StorableIntent};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};


/// CCOS's `Archivable::content_hash`: SHA-256 (lowercase hex) of the compact serde JSON.
pub fn content_hash<T: Serialize>(entity: &T) -> String {
    let json = serde_json::to_string(entity).expect("serialise");
    hex(&Sha256::digest(json.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{:02x}", b)).collect()
}

/// Each entity as pretty JSON at `<base>/<aa>/<bb>/<hash>.json`, and
/// `index.json`, a pretty map hash -> relative path.
pub struct FileArchive {
    pub base_dir: PathBuf,
    pub index: Map<String>,
}

impl FileArchive {
    /// Opens (creating when `create`) the archive; a missing or unreadable index is
    /// an empty one, as CCOS reads it (`unwrap_or_default`).
    pub fn open(dir: &Path, create: bool) -> Result<Self, String> {
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

    pub fn default_rel_path(hash: &str) -> String {
        format!("{}/{}/{}.json", &hash[0..2], &hash[2..4], hash)
    }

    pub fn store<T: Serialize>(&mut self, entity: &T) -> Result<String, String> {
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
    pub fn list_hashes(&self) -> Vec<String> {
        let mut hashes: Vec<String> = self.index.keys().cloned().collect();
        hashes.sort();
        hashes
    }

    /// The entity and its file, or None when the file is gone (CCOS skips those).
    /// Checks what CCOS's `verify_integrity` checks: the name is the content hash.
    pub fn retrieve<T: Serialize + for<'de> Deserialize<'de>>(&self, hash: &str) -> Result<Option<T>, String> {
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

pub fn content_hash_of_text(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// The file with insignificant whitespace removed (what `to_string` writes).
pub fn strip_whitespace(text: &str) -> String {
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
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("create {}: {}", parent.display(), e))?;
    }
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, bytes).map_err(|e| format!("write {}: {}", tmp.display(), e))?;
    fs::rename(&tmp, path).map_err(|e| format!("rename {}: {}", path.display(), e))
}

/// An `intents/` and an `edges/` FileArchive under one directory.
pub struct FileArchiveStorage {
    pub intents: FileArchive,
    pub edges: FileArchive,
}

impl FileArchiveStorage {
    pub fn open(dir: &Path, create: bool) -> Result<Self, String> {
        Ok(FileArchiveStorage {
            intents: FileArchive::open(&dir.join("intents"), create)?,
            edges: FileArchive::open(&dir.join("edges"), create)?,
        })
    }

    /// As CCOS's `load_indexes`: intent id -> intent, edge hash -> edge.
    pub fn load(&self) -> Result<(Map<(String, StorableIntent)>, Vec<(String, Edge)>), String> {
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

