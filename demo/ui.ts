/** The elements of index.html the demo drives, looked up once, and the progress-bar helper. */
import type { Progress } from '../src/index.js';
import { byId } from './dom.js';

/** Every element the panels read or write. */
export const ui = {
  appStatus: byId('app-status'),
  backendSelect: byId<HTMLSelectElement>('backend-select'),
  backendInfo: byId('backend-info'),
  backendResult: byId('backend-result'),
  wipeButton: byId<HTMLButtonElement>('wipe-button'),
  putForm: byId<HTMLFormElement>('put-form'),
  putInput: byId<HTMLTextAreaElement>('put-input'),
  putResult: byId('put-result'),
  stats: byId('stats'),
  refreshButton: byId<HTMLButtonElement>('refresh-button'),
  verifyButton: byId<HTMLButtonElement>('verify-button'),
  verifyRepair: byId<HTMLInputElement>('verify-repair'),
  verifyProgress: byId<HTMLProgressElement>('verify-progress'),
  verifyResult: byId('verify-result'),
  hashList: byId<HTMLUListElement>('hash-list'),
  valueView: byId('value-view'),
  intentForm: byId<HTMLFormElement>('intent-form'),
  intentGoal: byId<HTMLInputElement>('intent-goal'),
  intentList: byId<HTMLUListElement>('intent-list'),
  edgeForm: byId<HTMLFormElement>('edge-form'),
  edgeFrom: byId<HTMLSelectElement>('edge-from'),
  edgeTo: byId<HTMLSelectElement>('edge-to'),
  edgeType: byId<HTMLSelectElement>('edge-type'),
  edgeWeight: byId<HTMLInputElement>('edge-weight'),
  edgeList: byId<HTMLUListElement>('edge-list'),
  clearGraphButton: byId<HTMLButtonElement>('clear-graph-button'),
  graphResult: byId('graph-result'),
  rtfsView: byId('rtfs-view'),
  backupDownload: byId<HTMLButtonElement>('backup-download'),
  backupUpload: byId<HTMLInputElement>('backup-upload'),
  backupResult: byId('backup-result'),
  bundleExport: byId<HTMLButtonElement>('bundle-export'),
  bundleUpload: byId<HTMLInputElement>('bundle-upload'),
  bundleProgress: byId<HTMLProgressElement>('bundle-progress'),
  bundleResult: byId('bundle-result'),
};

/** Shows `p` on `bar` (indeterminate without a total); `undefined` hides the bar. */
export function setProgress(bar: HTMLProgressElement, p: Progress | undefined): void {
  if (p === undefined) {
    bar.hidden = true;
    return;
  }
  bar.hidden = false;
  if (p.total !== undefined && p.total > 0) {
    bar.max = p.total;
    bar.value = p.done;
  } else {
    bar.removeAttribute('value'); // indeterminate
  }
}
