/** The elements of index.html the demo drives, looked up once, and which state each message region speaks of. */
import { byId } from './dom.js';
import { ownMessages } from './messages.js';

/** Every element the panels read or write. */
export const ui = {
  appStatus: byId('app-status'),
  backendSelect: byId<HTMLSelectElement>('backend-select'),
  backendInfo: byId('backend-info'),
  liveNote: byId('live-note'),
  backendResult: byId('backend-result'),
  wipeButton: byId<HTMLButtonElement>('wipe-button'),
  wipeCancel: byId<HTMLButtonElement>('wipe-cancel'),
  wipeProgress: byId<HTMLProgressElement>('wipe-progress'),
  putForm: byId<HTMLFormElement>('put-form'),
  putInput: byId<HTMLTextAreaElement>('put-input'),
  putResult: byId('put-result'),
  stats: byId('stats'),
  refreshButton: byId<HTMLButtonElement>('refresh-button'),
  verifyButton: byId<HTMLButtonElement>('verify-button'),
  verifyRepair: byId<HTMLInputElement>('verify-repair'),
  gcButton: byId<HTMLButtonElement>('gc-button'),
  maintenanceCancel: byId<HTMLButtonElement>('maintenance-cancel'),
  verifyProgress: byId<HTMLProgressElement>('verify-progress'),
  verifyResult: byId('verify-result'),
  hashList: byId<HTMLUListElement>('hash-list'),
  pagePrev: byId<HTMLButtonElement>('page-prev'),
  pageNext: byId<HTMLButtonElement>('page-next'),
  pageInfo: byId('page-info'),
  valueView: byId('value-view'),
  deleteObject: byId<HTMLButtonElement>('delete-object'),
  objectsResult: byId('objects-result'),
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
  graphDrawing: byId('graph-drawing'),
  rtfsView: byId('rtfs-view'),
  backupDownload: byId<HTMLButtonElement>('backup-download'),
  backupUpload: byId<HTMLInputElement>('backup-upload'),
  backupResult: byId('backup-result'),
  bundleExport: byId<HTMLButtonElement>('bundle-export'),
  bundleUpload: byId<HTMLInputElement>('bundle-upload'),
  bundleCancel: byId<HTMLButtonElement>('bundle-cancel'),
  bundleProgress: byId<HTMLProgressElement>('bundle-progress'),
  bundleResult: byId('bundle-result'),
};

// Which state each message speaks of: it goes when that state changes (see messages.ts).
ownMessages(ui.backendResult, ['session', 'objects', 'graph']);
ownMessages(ui.putResult, ['session']);
ownMessages(ui.verifyResult, ['session', 'objects']);
ownMessages(ui.objectsResult, ['session', 'objects']);
ownMessages(ui.graphResult, ['session', 'graph']);
ownMessages(ui.backupResult, ['session', 'graph']);
ownMessages(ui.bundleResult, ['session', 'objects']);

/** The long-running work of each panel: its progress bar and Cancel button. */
export const tasks = {
  wipe: { progress: ui.wipeProgress, cancel: ui.wipeCancel },
  maintenance: { progress: ui.verifyProgress, cancel: ui.maintenanceCancel },
  bundle: { progress: ui.bundleProgress, cancel: ui.bundleCancel },
};

export { setProgress } from './tasks.js';
