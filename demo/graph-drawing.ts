/**
 * The intent graph drawn as a small SVG: intents as labelled dots on a circle,
 * edges as arrows labelled with their type (curved when two run between the
 * same pair, a loop for an edge from an intent to itself). No layout library:
 * a circle reads well for the dozens of intents a person types in.
 */
import type { IntentGraph } from '../src/intent-graph/index.js';
import { h, s } from './dom.js';
import { shorten } from './format.js';

/** Intents drawn at most; the lists beside the drawing show every one. */
const MAX_DRAWN = 40;
const W = 520;
const H = 360;
const R = 9;

export function drawGraph(graph: IntentGraph): Element {
  const intents = Object.values(graph.intents).slice(0, MAX_DRAWN);
  const total = Object.keys(graph.intents).length;
  if (intents.length === 0) return h('p', { class: 'muted empty-drawing' }, 'Add intents to see the graph drawn here.');

  const cx = W / 2;
  const cy = H / 2;
  const radius = intents.length === 1 ? 0 : Math.min(W, H) / 2 - 48;
  const at = new Map<string, { x: number; y: number }>();
  intents.forEach((intent, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / intents.length;
    at.set(intent.intent_id, { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) });
  });

  const title = `Intent graph: ${total} intents, ${graph.edges.length} edges`;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'graph-svg' });
  svg.append(
    s('title', {}, title),
    s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0 0L10 5L0 10z', class: 'arrow-head' }))),
  );

  // How many edges run between each unordered pair, so parallel ones bend apart.
  const seen = new Map<string, number>();
  const edgeLayer = s('g', { class: 'edges' });
  for (const edge of graph.edges) {
    const a = at.get(edge.from);
    const b = at.get(edge.to);
    if (!a || !b) continue; // dangling, or beyond MAX_DRAWN
    const pair = [edge.from, edge.to].sort().join('\u0000');
    const nth = seen.get(pair) ?? 0;
    seen.set(pair, nth + 1);
    const label = edge.weight === null ? edge.edge_type : `${edge.edge_type} ${edge.weight}`;
    let d: string;
    let lx: number;
    let ly: number;
    if (edge.from === edge.to) {
      const loop = 28 + nth * 10;
      d = `M${a.x - 4} ${a.y - R} C${a.x - loop} ${a.y - loop * 2}, ${a.x + loop} ${a.y - loop * 2}, ${a.x + 4} ${a.y - R}`;
      lx = a.x;
      ly = a.y - loop * 1.6;
    } else {
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const len = Math.hypot(dx, dy) || 1;
      const ux = dx / len;
      const uy = dy / len;
      // Start and end on the dots' rims; bend parallel edges alternately left and right.
      const sx = a.x + ux * R;
      const sy = a.y + uy * R;
      const ex = b.x - ux * (R + 2);
      const ey = b.y - uy * (R + 2);
      const side = edge.from < edge.to ? 1 : -1;
      const bend = nth === 0 ? 0 : side * Math.ceil(nth / 2) * (nth % 2 ? 1 : -1) * 36;
      const mx = (sx + ex) / 2 - uy * bend;
      const my = (sy + ey) / 2 + ux * bend;
      d = `M${sx} ${sy} Q${mx} ${my} ${ex} ${ey}`;
      lx = (sx + ex) / 4 + mx / 2;
      ly = (sy + ey) / 4 + my / 2;
    }
    edgeLayer.append(
      s('g', { class: 'edge', 'data-edge-type': edge.edge_type }, s('path', { d, class: 'edge-line', 'marker-end': 'url(#arrow)' }), s('text', { x: lx, y: ly - 4, class: 'edge-label', 'text-anchor': 'middle' }, label)),
    );
  }

  const nodeLayer = s('g', { class: 'nodes' });
  for (const intent of intents) {
    const p = at.get(intent.intent_id)!;
    const below = p.y >= cy;
    nodeLayer.append(
      s(
        'g',
        { class: 'node', 'data-intent-id': intent.intent_id },
        s('title', {}, `${intent.goal} (${intent.status}, ${intent.intent_id})`),
        s('circle', { cx: p.x, cy: p.y, r: R }),
        s('text', { x: p.x, y: below ? p.y + R + 14 : p.y - R - 6, 'text-anchor': 'middle', class: 'node-label' }, shorten(intent.goal, 28)),
      ),
    );
  }
  svg.append(edgeLayer, nodeLayer);
  const figure = h('figure', { class: 'graph-figure' }, svg);
  if (total > intents.length) figure.append(h('figcaption', { class: 'muted' }, `The first ${intents.length} of ${total} intents are drawn; the list shows all.`));
  return figure;
}
