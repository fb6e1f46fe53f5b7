/** The "Intent graph" panel: intents, edges, their drawing and the RTFS snapshot of the archive-backed graph. */
import { InvalidArgumentError } from '../src/index.js';
import { newIntent, printRtfsSnapshot, type Edge, type EdgeType, type IntentGraph, type StorableIntent } from '../src/intent-graph/index.js';
import type { Session } from './backends.js';
import { h, showOk } from './dom.js';
import { shorten } from './format.js';
import { drawGraph } from './graph-drawing.js';
import { stateChanged } from './messages.js';
import { refreshObjects } from './objects-panel.js';
import { ui } from './ui.js';

/** The graph as last shown (the delete buttons name its intents and edges by index and id). */
let shown: IntentGraph = { intents: {}, edges: [] };

/**
 * How an intent is named on the page: its goal, and where two intents share
 * a goal, the end of its id to tell them apart. Never the raw id alone.
 */
function namer(graph: IntentGraph): (id: string) => string {
  const count = new Map<string, number>();
  for (const i of Object.values(graph.intents)) count.set(i.goal, (count.get(i.goal) ?? 0) + 1);
  return (id) => {
    const intent: StorableIntent | undefined = graph.intents[id];
    if (!intent) return `a deleted intent (${id})`;
    return (count.get(intent.goal) ?? 0) > 1 ? `${intent.goal} (…${id.slice(-6)})` : intent.goal;
  };
}

function edgeText(edge: Edge, name: (id: string) => string): string {
  return `${name(edge.from)} → ${edge.edge_type} → ${name(edge.to)}`;
}

export async function refreshGraph(s: Session): Promise<void> {
  const graph = await s.graph.snapshot();
  shown = graph;
  const intents = Object.values(graph.intents);
  const name = namer(graph);

  ui.intentList.replaceChildren(
    ...(intents.length === 0
      ? [h('li', { class: 'empty' }, 'No intents yet.')]
      : intents.map((intent) =>
          h(
            'li',
            { 'data-intent-id': intent.intent_id },
            h('span', { class: 'item-text' }, h('span', { class: 'goal' }, intent.goal), h('span', { class: 'id' }, `${intent.status} · ${intent.intent_id}`)),
            h('button', { type: 'button', class: 'small danger', 'data-delete-intent': intent.intent_id, 'aria-label': `Delete intent ${shorten(name(intent.intent_id), 80)}` }, 'Delete'),
          ),
        )),
  );

  for (const select of [ui.edgeFrom, ui.edgeTo]) {
    const previous = select.value;
    select.replaceChildren(...intents.map((intent) => h('option', { value: intent.intent_id }, shorten(name(intent.intent_id), 60))));
    if (intents.some((i) => i.intent_id === previous)) select.value = previous;
  }
  // Suggest a real edge: "to" defaults to another intent than "from".
  if (intents.length > 1 && ui.edgeTo.value === ui.edgeFrom.value) ui.edgeTo.selectedIndex = ui.edgeFrom.selectedIndex === 0 ? 1 : 0;

  ui.edgeList.replaceChildren(
    ...(graph.edges.length === 0
      ? [h('li', { class: 'empty' }, 'No edges yet.')]
      : graph.edges.map((edge, index) =>
          h(
            'li',
            { 'data-edge-type': edge.edge_type },
            h('span', { class: 'item-text' }, h('span', {}, edgeText(edge, name)), h('span', { class: 'id' }, edge.weight === null ? '' : `weight ${edge.weight}`)),
            h('button', { type: 'button', class: 'small danger', 'data-delete-edge': String(index), 'aria-label': `Delete edge ${shorten(edgeText(edge, name), 120)}` }, 'Delete'),
          ),
        )),
  );

  ui.graphDrawing.replaceChildren(drawGraph(graph));
  ui.rtfsView.textContent = printRtfsSnapshot(graph);
  stateChanged('graph', `${s.graph.referencedHashes().sort().join(',')}|${graph.edges.length}`);
}

async function refreshBoth(s: Session): Promise<void> {
  await refreshGraph(s);
  await refreshObjects(s);
}

export async function addIntent(s: Session): Promise<void> {
  const goal = ui.intentGoal.value.trim();
  if (goal === '') throw new InvalidArgumentError('type a goal first');
  await s.graph.store(newIntent(goal, { arbiterVersion: 'archive-storage-demo' }));
  ui.intentGoal.value = '';
  await refreshBoth(s);
  showOk(ui.graphResult, `Added intent “${shorten(goal, 80)}”.`);
}

export async function addEdge(s: Session): Promise<void> {
  const weightText = ui.edgeWeight.value.trim();
  const weight = weightText === '' ? null : Number(weightText);
  const edge: Edge = { from: ui.edgeFrom.value, to: ui.edgeTo.value, edge_type: ui.edgeType.value as EdgeType, metadata: null, weight };
  if (!edge.from || !edge.to) throw new InvalidArgumentError('add two intents first, then pick them as "from" and "to"');
  await s.graph.storeEdge(edge);
  ui.edgeWeight.value = '';
  const text = edgeText(edge, namer(shown));
  await refreshBoth(s);
  showOk(ui.graphResult, `Added edge ${text}.`);
}

/** Deletes one intent and the edges that touch it (CCOS would leave them dangling; the page does not). */
export async function deleteIntent(s: Session, id: string): Promise<void> {
  const name = namer(shown)(id);
  const touching = await s.graph.edgesOf(id);
  for (const edge of touching) await s.graph.deleteEdge(edge);
  await s.graph.delete(id);
  await refreshBoth(s);
  showOk(
    ui.graphResult,
    `Deleted intent “${shorten(name, 80)}”${touching.length > 0 ? ` and its ${touching.length} edge${touching.length === 1 ? '' : 's'}` : ''}. ` +
      'Its objects stay in the archive until you collect garbage.',
  );
}

/** Deletes the edge shown at `index` of the edge list. */
export async function deleteEdge(s: Session, index: number): Promise<void> {
  const edge = shown.edges[index];
  if (!edge) throw new InvalidArgumentError('that edge is gone already');
  const text = edgeText(edge, namer(shown));
  await s.graph.deleteEdge(edge);
  await refreshBoth(s);
  showOk(ui.graphResult, `Deleted edge ${text}. Its object stays in the archive until you collect garbage.`);
}

export async function clearGraph(s: Session): Promise<void> {
  await s.graph.clear();
  await refreshBoth(s);
  showOk(ui.graphResult, 'The intent graph is empty now (its old objects stay in the archive until you collect garbage).');
}
