/* How nodes and edges look: shared by the legend (always loaded) and the Cytoscape renderer (loaded lazily). */

/** File nodes: a shape and colour per media family. */
export const FILE_LOOK = {
  text: { shape: 'ellipse', color: '#2563eb' },
  pdf: { shape: 'rectangle', color: '#dc2626' },
  image: { shape: 'diamond', color: '#16a34a' },
  audio: { shape: 'triangle', color: '#d97706' },
  video: { shape: 'pentagon', color: '#c026d3' },
  application: { shape: 'hexagon', color: '#7c3aed' },
  other: { shape: 'octagon', color: '#64748b' },
};

export const TAG_LOOK = { shape: 'round-tag', color: '#fde68a', border: '#b45309', text: '#78350f' };

export const FOLDER_LOOK = { shape: 'round-rectangle', color: '#c7d2fe', border: '#4338ca', text: '#312e81' };

export const EDGE_LOOK = {
  TAGGED: { color: '#94a3b8', style: 'solid' },
  SIMILAR: { color: '#0d9488', style: 'dashed' },
  CO_OCCURS: { color: '#ea580c', style: 'dotted' },
  IN: { color: '#4338ca', style: 'solid' },
  BROADER: { color: '#b45309', style: 'solid' },
};

/** Node size (px at zoom 1) grows with degree. */
export const nodeSize = (kind, degree) => (kind === 'file' ? 14 : 18) + Math.min(36, 4.5 * Math.sqrt(degree || 0));
