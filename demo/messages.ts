/**
 * Every status message belongs to one panel and says something about that
 * panel's state: "Verified 3 objects" is about the objects as they were,
 * "The intent graph is empty now" about the graph as it was. Each message
 * region declares which state it speaks of; a message is stamped with that
 * state when shown and cleared as soon as the state moves on, so no message
 * outlives what it describes and none contradicts the page.
 */

/** The states a message can speak of: which backend is open, the archive's objects, the intent graph. */
export type StateName = 'session' | 'objects' | 'graph';

const current: Record<StateName, string> = { session: '', objects: '', graph: '' };
const owners = new Map<HTMLElement, readonly StateName[]>();

const stampOf = (deps: readonly StateName[]): string => deps.map((d) => `${d}=${current[d]}`).join(';');

/** Declares that the messages of `region` describe `deps`. */
export function ownMessages(region: HTMLElement, deps: readonly StateName[]): void {
  owners.set(region, deps);
}

/** Marks the message just put in `region` as describing the current state. */
export function stamp(region: HTMLElement): void {
  const deps = owners.get(region);
  if (deps) region.dataset['stamp'] = stampOf(deps);
}

/** Empties a message region. */
export function clearMessage(region: HTMLElement): void {
  region.replaceChildren();
  region.removeAttribute('data-code');
  delete region.dataset['stamp'];
}

/** Records the new value of a state; every message about an older value goes. */
export function stateChanged(name: StateName, value: string): void {
  if (current[name] === value) return;
  current[name] = value;
  for (const [region, deps] of owners) {
    if (!deps.includes(name) || region.dataset['stamp'] === undefined) continue;
    if (region.dataset['stamp'] !== stampOf(deps)) clearMessage(region);
  }
}
