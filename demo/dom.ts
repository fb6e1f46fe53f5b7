/** DOM helpers of the demo: element lookup, element building (text only, never HTML strings), result messages. */
import { describeError } from './format.js';
import { stamp } from './messages.js';

/** The element with `id`; throws when the page lacks it (a broken build, not a user error). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo page has no #${id}`);
  return el as T;
}

export type Child = Node | string | null | undefined | false;

/** Creates `<tag>` with attributes and children; strings become text nodes, so stored data is never parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element; like {@link h}, text children become text nodes. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

/** Replaces the content of a result region with a success message. */
export function showOk(region: HTMLElement, ...content: Child[]): void {
  region.removeAttribute('data-code');
  region.replaceChildren(h('span', { class: 'ok' }, ...content));
  stamp(region);
}

/** Replaces the content of a result region with plain information. */
export function showInfo(region: HTMLElement, ...content: Child[]): void {
  region.removeAttribute('data-code');
  region.replaceChildren(...content.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
  stamp(region);
}

/** Shows `error` in a result region: its stable code (also as `data-code`) and its message. */
export function showError(region: HTMLElement, error: unknown): void {
  const { code, message } = describeError(error);
  region.setAttribute('data-code', code);
  region.replaceChildren(h('span', { class: 'error' }, h('span', { class: 'code-tag' }, code), ': ', message));
  stamp(region);
}
