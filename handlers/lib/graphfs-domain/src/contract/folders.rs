//! Folders: made with files or on their own, listed, filtered by, moved
//! and removed, each owner's tree apart from everyone else's.

use super::*;

async fn in_folder(index: &dyn GraphIndex, viewer: &str, path: &str, deep: bool) -> Vec<FileId> {
    let mut ids: Vec<FileId> = index
        .list_files(
            viewer,
            &FileQuery {
                limit: 100,
                folder: Some(FolderFilter {
                    path: path.to_string(),
                    subfolders: deep,
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|f| f.id)
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<FileId>) -> Vec<FileId> {
    ids.sort();
    ids
}

async fn names(index: &dyn GraphIndex, owner: &str, parent: &str) -> Vec<String> {
    index
        .subfolders(owner, parent)
        .await
        .unwrap()
        .into_iter()
        .map(|f| {
            assert_eq!(f.path, join_folder(parent, &f.name));
            f.name
        })
        .collect()
}

pub(super) async fn folders(index: &dyn GraphIndex) {
    let u = unique("filer");
    let stranger = unique("stranger");
    new_file(index, &stranger, "theirs.txt", "text/plain").await;

    // A file in a folder makes the folder and its ancestors, for its owner only.
    let plan = new_file_in(index, &u, "/projects/titan", "plan.txt", "text/plain").await;
    assert_eq!(plan.folder, "/projects/titan");
    assert_eq!(
        index.get_file(&u, plan.id).await.unwrap().folder,
        plan.folder
    );
    for path in ["/", "/projects", "/projects/titan"] {
        assert!(index.folder_exists(&u, path).await.unwrap(), "{path}");
    }
    assert!(!index.folder_exists(&stranger, "/projects").await.unwrap());
    assert!(!index.folder_exists(&u, "/proj").await.unwrap());
    let notes = new_file_in(index, &u, "/projects", "notes.txt", "text/plain").await;
    let loose = new_file(index, &u, "loose.txt", "text/plain").await;
    assert_eq!(loose.folder, ROOT_FOLDER);

    // Empty folders exist on their own.
    assert!(index.create_folder(&u, "/archive/2025").await.unwrap());
    assert!(!index.create_folder(&u, "/archive/2025").await.unwrap());
    assert!(!index.create_folder(&u, "/archive").await.unwrap());
    assert_eq!(names(index, &u, "/").await, ["archive", "projects"]);
    assert_eq!(names(index, &u, "/projects").await, ["titan"]);
    assert_eq!(
        names(index, &u, "/archive/2025").await,
        Vec::<String>::new()
    );
    assert_eq!(names(index, &stranger, "/").await, Vec::<String>::new());

    // A file by its path.
    let at = index
        .file_at(&u, "/projects/titan", "plan.txt")
        .await
        .unwrap();
    assert_eq!(at.map(|f| f.id), Some(plan.id));
    assert!(
        index
            .file_at(&u, "/projects", "plan.txt")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        index
            .file_at(&stranger, "/projects/titan", "plan.txt")
            .await
            .unwrap()
            .is_none()
    );

    // Listing by folder: the folder alone, or with everything beneath it.
    assert_eq!(
        in_folder(index, &u, "/projects", true).await,
        sorted(vec![plan.id, notes.id])
    );
    assert_eq!(
        in_folder(index, &u, "/projects", false).await,
        vec![notes.id]
    );
    assert_eq!(in_folder(index, &u, "/", false).await, vec![loose.id]);
    assert_eq!(
        in_folder(index, &u, "/", true).await,
        sorted(vec![plan.id, notes.id, loose.id])
    );
    assert_eq!(
        in_folder(index, &u, "/proj", true).await,
        Vec::<FileId>::new()
    );
    assert_eq!(
        in_folder(index, &stranger, "/projects", true).await,
        Vec::<FileId>::new()
    );

    // Only empty folders go; the root never does.
    let conflict = |r: Result<()>| assert!(matches!(r, Err(Error::Conflict(_))), "{r:?}");
    conflict(index.delete_folder(&u, "/projects").await);
    conflict(index.delete_folder(&u, "/archive").await);
    index.delete_folder(&u, "/archive/2025").await.unwrap();
    index.delete_folder(&u, "/archive").await.unwrap();
    assert!(!index.folder_exists(&u, "/archive").await.unwrap());
    assert!(matches!(
        index.delete_folder(&u, "/archive").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        index.delete_folder(&stranger, "/projects").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        index.delete_folder(&u, "/").await,
        Err(Error::InvalidInput(_))
    ));

    // A file moves (and is renamed) into a folder made on the way.
    let moved = index
        .update_file(
            &u,
            notes.id,
            &FileChange::move_to("/moved/here", Some("renamed.txt")).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.folder.as_str(), moved.name.as_str()),
        ("/moved/here", "renamed.txt")
    );
    assert!(index.folder_exists(&u, "/moved").await.unwrap());
    assert_eq!(
        in_folder(index, &u, "/projects", false).await,
        Vec::<FileId>::new()
    );
    // The folder it left stays, empty.
    assert!(index.folder_exists(&u, "/projects").await.unwrap());

    // A folder moves with everything in it.
    assert_eq!(
        index
            .move_folder(&u, "/projects", "/old/projects")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        index.get_file(&u, plan.id).await.unwrap().folder,
        "/old/projects/titan"
    );
    for path in ["/old", "/old/projects", "/old/projects/titan"] {
        assert!(index.folder_exists(&u, path).await.unwrap(), "{path}");
    }
    assert!(!index.folder_exists(&u, "/projects").await.unwrap());
    assert!(!index.folder_exists(&u, "/projects/titan").await.unwrap());
    let refused = |r: Result<u64>| assert!(r.is_err(), "{r:?}");
    conflict(
        index
            .move_folder(&u, "/old", "/old/projects/x")
            .await
            .map(|_| ()),
    );
    conflict(index.move_folder(&u, "/old", "/moved").await.map(|_| ()));
    assert!(matches!(
        index.move_folder(&u, "/nothing", "/x").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        index.move_folder(&stranger, "/old", "/x").await,
        Err(Error::NotFound(_))
    ));
    refused(index.move_folder(&u, "/", "/x").await);
    // The stranger's file never moved or showed.
    assert_eq!(names(index, &stranger, "/").await, Vec::<String>::new());
}

/// A name is unique within a folder per owner: creating, renaming or moving
/// a file onto a taken name is a `Conflict` that changes nothing.
pub(super) async fn names_are_unique(index: &dyn GraphIndex) {
    let (alice, bob) = (unique("alice"), unique("bob"));
    let a = new_file_in(index, &alice, "/docs", "plan.txt", "text/plain").await;
    let taken = index
        .create_file({
            let id = FileId::new();
            NewFile {
                id,
                object_key: id.object_key(),
                owner: alice.clone(),
                name: "plan.txt".into(),
                folder: "/docs".into(),
                size: 1,
                sha256: String::new(),
                media_type: "text/plain".into(),
            }
        })
        .await
        .unwrap_err();
    assert!(matches!(taken, Error::Conflict(_)), "{taken:?}");
    assert_eq!(
        index
            .file_at(&alice, "/docs", "plan.txt")
            .await
            .unwrap()
            .map(|f| f.id),
        Some(a.id),
        "the first keeps the name"
    );
    // Uploads at once: each name is created once, whatever ran first.
    let burst: Vec<NewFile> = (0..12)
        .map(|i| new_text_file(&alice, "/burst", &format!("n{}.txt", i % 8)))
        .collect();
    let results =
        futures::future::join_all(burst.iter().map(|f| index.create_file(f.clone()))).await;
    for name in 0..8 {
        let name = format!("n{name}.txt");
        let asked: Vec<_> = burst
            .iter()
            .zip(&results)
            .filter(|(f, _)| f.name == name)
            .collect();
        let won: Vec<FileId> = asked
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok().map(|f| f.id))
            .collect();
        assert_eq!(won.len(), 1, "{name}: {results:?}");
        assert!(
            asked
                .iter()
                .all(|(_, r)| r.as_ref().is_ok_and(|f| f.name == name)
                    || matches!(r, Err(Error::Conflict(_)))),
            "{name}: {results:?}"
        );
        let at = index.file_at(&alice, "/burst", &name).await.unwrap();
        assert_eq!(at.map(|f| f.id), Some(won[0]));
    }
    // The same name elsewhere, or another owner's, is free.
    let b = new_file_in(index, &alice, "/other", "plan.txt", "text/plain").await;
    new_file_in(index, &bob, "/docs", "plan.txt", "text/plain").await;
    let c = new_file_in(index, &alice, "/docs", "notes.txt", "text/plain").await;

    let rename = FileChange::check(&FileChangeRequest {
        name: Some("plan.txt"),
        ..Default::default()
    })
    .unwrap();
    let refused = index.update_file(&alice, c.id, &rename).await.unwrap_err();
    assert!(matches!(refused, Error::Conflict(_)), "{refused:?}");
    let move_in = FileChange::move_to("/docs", None).unwrap();
    let refused = index.update_file(&alice, b.id, &move_in).await.unwrap_err();
    assert!(matches!(refused, Error::Conflict(_)), "{refused:?}");
    assert_eq!(index.get_file(&alice, b.id).await.unwrap().folder, "/other");
    // A file keeps its own name, and a freed name can be taken.
    index.update_file(&alice, a.id, &rename).await.unwrap();
    index.delete_file(&alice, a.id).await.unwrap();
    let moved = index.update_file(&alice, b.id, &move_in).await.unwrap();
    assert_eq!(
        (moved.folder.as_str(), moved.name.as_str()),
        ("/docs", "plan.txt")
    );
}

/// Search keeps to a folder (and what is beneath it, when asked) when
/// given one.
pub(super) async fn search_in_a_folder(index: &dyn GraphIndex) {
    let u = unique("searcher");
    let word = format!("zf{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let text = format!("the {word} is in this text");
    let mut ids = Vec::new();
    for folder in ["/", "/work", "/work/old", "/home"] {
        let f = new_file_in(index, &u, folder, "notes.txt", "text/plain").await;
        tag_file(index, f.id, &outcome(&text, &[])).await;
        ids.push(f.id);
    }
    let found = |folder: Option<(&str, bool)>| {
        let filter = folder.map(|(path, subfolders)| FolderFilter {
            path: path.to_string(),
            subfolders,
        });
        let word = word.clone();
        let u = u.clone();
        async move {
            let mut got: Vec<FileId> = index
                .search_in(&u, &word, filter.as_ref(), 10)
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.file.id)
                .collect();
            got.sort();
            got
        }
    };
    let sorted = |mut v: Vec<FileId>| {
        v.sort();
        v
    };
    assert_eq!(found(None).await, sorted(ids.clone()));
    assert_eq!(found(Some(("/", true))).await, sorted(ids.clone()));
    assert_eq!(found(Some(("/", false))).await, vec![ids[0]]);
    assert_eq!(
        found(Some(("/work", true))).await,
        sorted(vec![ids[1], ids[2]])
    );
    assert_eq!(found(Some(("/work", false))).await, vec![ids[1]]);
    assert_eq!(found(Some(("/wor", true))).await, Vec::<FileId>::new());

    // The graph: a folder with its parent, subfolders and files, each IN
    // its folder; any view gains the folders of the viewer's files.
    let view = folder_neighbourhood(index, &u, "/work", 100).await.unwrap();
    let has_edge = |v: &GraphView, from: &str, to: &str| {
        v.edges
            .iter()
            .any(|e| e.kind == EdgeKind::In && e.source == from && e.target == to)
    };
    let file_node = |id: FileId| format!("file:{id}");
    assert!(has_edge(&view, "folder:/work", "folder:/"), "{view:?}");
    assert!(has_edge(&view, "folder:/work/old", "folder:/work"));
    assert!(has_edge(&view, &file_node(ids[1]), "folder:/work"));
    assert!(
        !view.nodes.iter().any(|n| n.id == file_node(ids[2])),
        "not a hop away"
    );
    let around = index
        .neighbourhood(&u, &GraphStart::File(ids[2]), 1, 50)
        .await
        .unwrap();
    let around = with_folders(index, &u, around, 50).await.unwrap();
    assert!(
        has_edge(&around, &file_node(ids[2]), "folder:/work/old"),
        "{around:?}"
    );
    for (who, path) in [(u.as_str(), "/nowhere"), ("someone-else", "/work")] {
        let err = folder_neighbourhood(index, who, path, 100)
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{who} {path}: {err:?}");
    }
}
