//! Folders: each owner's tree. A file's folder is a property of the file;
//! a folder also exists on its own (made empty, or left empty by a move),
//! and making a file or folder makes every missing ancestor.

use async_trait::async_trait;

use crate::{FileRecord, FolderInfo, Result};

/// All paths are normalised ([`crate::normalize_folder`]); the root `/`
/// always exists and cannot be made, moved or removed.
#[async_trait]
pub trait Folders: Send + Sync + 'static {
    /// Makes `path` and any missing ancestors; `false` when it existed.
    async fn create_folder(&self, owner: &str, path: &str) -> Result<bool>;
    /// Whether `owner` has the folder.
    async fn folder_exists(&self, owner: &str, path: &str) -> Result<bool>;
    /// The folders directly inside `parent`, by name.
    async fn subfolders(&self, owner: &str, parent: &str) -> Result<Vec<FolderInfo>>;
    /// The file named `name` in `owner`'s `folder` (the newest, should
    /// there be several: names made before they were unique).
    async fn file_at(&self, owner: &str, folder: &str, name: &str) -> Result<Option<FileRecord>>;
    /// Removes an empty folder. `NotFound` when it is not there, `Conflict`
    /// while it holds files or folders.
    async fn delete_folder(&self, owner: &str, path: &str) -> Result<()>;
    /// Moves `from`, its folders and the owner's files in them to `to`
    /// (ancestors made as needed); the number of files moved. `NotFound`
    /// without `from`, `Conflict` when `to` exists or lies inside `from`.
    async fn move_folder(&self, owner: &str, from: &str, to: &str) -> Result<u64>;
}

/// What every backend answers when a file would take a name another file
/// of the owner has in the same folder: names are unique within a folder.
pub fn name_taken(folder: &str, name: &str) -> crate::Error {
    crate::Error::Conflict(format!(
        "a file named '{name}' is already in folder '{folder}'"
    ))
}

/// The checks every backend makes before moving a folder, so all refuse
/// the same moves with the same errors.
pub fn check_folder_move(from: &str, to: &str) -> Result<()> {
    if from == crate::ROOT_FOLDER || to == crate::ROOT_FOLDER {
        return Err(crate::Error::InvalidInput(
            "the root folder cannot be moved or replaced".into(),
        ));
    }
    if crate::is_within(to, from) {
        return Err(crate::Error::Conflict(format!(
            "cannot move folder '{from}' into itself ('{to}')"
        )));
    }
    Ok(())
}
