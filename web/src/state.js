/* Shared state and the hub through which the feature modules call each other. */

export const state = {
  // folder: null lists every folder's files; a path ('/', '/a/b') lists the files directly in it.
  filters: { media: '', status: '', tags: [], tagMatch: 'all', sort: 'created', order: 'desc', folder: null },
  subfolders: [], folderSeq: 0,
  files: [], cursor: null, listSeq: 0, reloadWhenIdle: false,
  pollTimer: 0, pollOffset: 0,
  selected: null, panelSeq: 0, panelUrls: [],
  tagItems: [], tagsSeq: 0, activeTag: null,
};

/**
 * Functions the modules provide to one another (filled in by each module's bind function):
 * openFile(id), openGraph(params), selectTag(name, opts), showTab(name), refreshTagsSoon(), loadFiles(opts),
 * schedulePoll(), updateFile(record), removeFileFromList(id), removeGraphNode(id), loadVocab().
 */
export const app = {};

export const isBusy = (f) => Boolean(f) && (f.status === 'pending' || f.status === 'running');
