/** The "Intent graph" panel: intents, edges and the RTFS snapshot of the archive-backed graph. */
import { InvalidArgumentError } from '../src/index.js';
import { newIntent, printRtfsSnapshot, type Edge, type EdgeType, type StorableIntent } from '../src/intent-graph/index.js';
import type { Session } from './backends.js';
import { h, showOk } from './dom.js';
import { refreshObjects } from './objects-panel.js';
import { ui } from './ui.js';

function intentLabel(intent: StorableIntent | undefined, id: string): string {
  return intent ? `${intent.goal} (${id})` : `${id} (missing)`;
}

export async function refreshGraph(s: Session): Promise<void> {
  const graph = await s.graph.snapshot();
  const intents = Object.values(graph.intents);

  ui.intentList.replaceChildren(
    ...(intents.length === 0
      ? [h('li', { class: 'empty' }, 'No intents yet.')]
      : intents.map((intent) =>
          h('li', { 'data-intent-id': intent.intent_id }, h('span', { class: 'goal' }, intent.goal), h('span', { class: 'id' }, `${intent.status} · ${intent.intent_id}`)),
        )),
  );

  for (const select of [ui.edgeFrom, ui.edgeTo]) {
    const previous = select.value;
    select.replaceChildren(...intents.map((intent) => h('option', { value: intent.intent_id }, intentLabel(intent, intent.intent_id))));
    if (intents.some((i) => i.intent_id === previous)) select.value = previous;
  }
  // Suggest a real edge: "to" defaults to another intent than "from".
  if (intents.length > 1 && ui.edgeTo.value === ui.edgeFrom.value) ui.edgeTo.selectedIndex = ui.edgeFrom.selectedIndex === 0 ? 1 : 0;

  ui.edgeList.replaceChildren(
    ...(graph.edges.length === 0
      ? [h('li', { class: 'empty' }, 'No edges yet.')]
      : graph.edges.map((edge) =>
          h(
            'li',
            { 'data-edge-type': edge.edge_type },
            h('span', {}, `${graph.intents[edge.from]?.goal ?? edge.from} → ${edge.edge_type} → ${graph.intents[edge.to]?.goal ?? edge.to}`),
            h('span', { class: 'id' }, edge.weight === null ? '' : `weight ${edge.weight}`),
          ),
        )),
  );

  ui.rtfsView.textContent = printRtfsSnapshot(graph);
}

export async function addIntent(s: Session): Promise<void> {
  const goal = ui.intentGoal.value.trim();
  if (goal === '') throw new InvalidArgumentError('type a goal first');
  const id = await s.graph.store(newIntent(goal, { arbiterVersion: 'archive-storage-demo' }));
  ui.intentGoal.value = '';
  showOk(ui.graphResult, 'Added intent ', h('code', {}, id), '.');
  await refreshGraph(s);
  await refreshObjects(s);
}

export async function addEdge(s: Session): Promise<void> {
  const weightText = ui.edgeWeight.value.trim();
  const weight = weightText === '' ? null : Number(weightText);
  const edge: Edge = { from: ui.edgeFrom.value, to: ui.edgeTo.value, edge_type: ui.edgeType.value as EdgeType, metadata: null, weight };
  if (!edge.from || !edge.to) throw new InvalidArgumentError('add two intents first, then pick them as "from" and "to"');
  await s.graph.storeEdge(edge);
  ui.edgeWeight.value = '';
  showOk(ui.graphResult, `Added edge ${edge.edge_type}.`);
  await refreshGraph(s);
  await refreshObjects(s);
}

export async function clearGraph(s: Session): Promise<void> {
  await s.graph.clear();
  showOk(ui.graphResult, 'The intent graph is empty now (its old objects stay in the archive until gc).');
  await refreshGraph(s);
  await refreshObjects(s);
}
