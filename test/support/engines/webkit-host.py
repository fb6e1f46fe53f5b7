#!/usr/bin/python3
"""
A minimal WebKitGTK (webkit2gtk-4.1) browser host for vitest's browser mode.

Why: the stock MiniBrowser leaves OPFS and navigator.storage off, and in
automation mode (WebKitWebDriver) it uses an ephemeral data manager. This host
uses an on-disk profile (WebsiteDataManager with base directories) and enables
the storage features Safari ships, so IndexedDB / OPFS / Web Locks are real and
persistent.

Control protocol: one JSON object per line on stdin, one JSON reply per line on
stdout ({"id": n, "ok": true, "value": ...} or {"id": n, "ok": false, "error": "..."}).
  {"id":1,"op":"open","url":"http://..."}              -> value: view id (int)
  {"id":2,"op":"goto","view":1,"url":"http://..."}     -> navigates, resolves after load-finished
  {"id":3,"op":"call","view":1,"body":"return 1+1"}    -> runs an async function body in the page, value: JSON result
  {"id":4,"op":"reload","view":1}
  {"id":5,"op":"close","view":1}
  {"id":6,"op":"quit"}
Run under Xvfb (DISPLAY must be set). Usage: host.py --profile DIR [--all-stable] [--quota-ratio R]
"""
import argparse
import json
import os
import sys
import threading

import gi

gi.require_version('Gtk', '3.0')
gi.require_version('WebKit2', '4.1')
from gi.repository import GLib, Gtk, WebKit2  # noqa: E402

# The storage features Safari ships but WebKitGTK 2.50 leaves off by default.
STORAGE_FEATURES = [
    'StorageAPI',                # navigator.storage (persist, persisted)
    'StorageAPIEstimate',        # navigator.storage.estimate()
    'FileSystem',                # OPFS: navigator.storage.getDirectory()
    'FileSystemWritableStream',  # FileSystemFileHandle.createWritable()
    'AccessHandle',              # FileSystemFileHandle.createSyncAccessHandle() in workers
    'WebLocksAPI',
    'IndexedDBAPI',
]

parser = argparse.ArgumentParser()
parser.add_argument('--profile', required=True)
parser.add_argument('--all-stable', action='store_true', help='also enable every feature with status stable/mature')
parser.add_argument('--quota-ratio', type=float, default=None, help='origin-storage-ratio (share of the disk volume per origin)')
parser.add_argument('--automation', action='store_true', help='be driven by WebKitWebDriver (W3C WebDriver) instead of the stdin protocol')
parser.add_argument('--app-name', default='archive-webkit-host', help='browserName reported to WebDriver (must match a requested browserName)')
parser.add_argument('--quota-bytes', type=int, default=None, help='per-origin quota in bytes (turned into a ratio of the profile volume)')
args = parser.parse_args()

os.makedirs(args.profile, exist_ok=True)
if args.quota_bytes is not None:
    st = os.statvfs(args.profile)
    args.quota_ratio = args.quota_bytes / (st.f_blocks * st.f_frsize)
dm_props = dict(
    base_data_directory=os.path.join(args.profile, 'data'),
    base_cache_directory=os.path.join(args.profile, 'cache'),
)
if args.quota_ratio is not None:
    dm_props['origin_storage_ratio'] = args.quota_ratio
    dm_props['total_storage_ratio'] = args.quota_ratio
data_manager = WebKit2.WebsiteDataManager(**dm_props)
context = WebKit2.WebContext(website_data_manager=data_manager)
# No HTTP disk cache: the network process kept writing it after the host quit, racing the profile's removal
# (and the tests load everything fresh from the dev server anyway).
context.set_cache_model(WebKit2.CacheModel.DOCUMENT_VIEWER)

settings = WebKit2.Settings()
settings.set_enable_developer_extras(False)
settings.set_hardware_acceleration_policy(WebKit2.HardwareAccelerationPolicy.NEVER)
settings.set_enable_write_console_messages_to_stdout(False)
features = WebKit2.Settings.get_all_features()
enabled = []
for i in range(features.get_length()):
    f = features.get(i)
    ident = f.get_identifier()
    status = f.get_status().value_nick
    if ident in STORAGE_FEATURES or (args.all_stable and status in ('stable', 'mature') and ident not in ('UseGPUProcessForDOMRendering',)):
        settings.set_feature_enabled(f, True)
        enabled.append(ident)

views = {}
next_view = [0]
out_lock = threading.Lock()


def reply(msg_id, ok, value=None, error=None):
    line = json.dumps({'id': msg_id, 'ok': ok, 'value': value} if ok else {'id': msg_id, 'ok': False, 'error': error})
    with out_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def event(name, **data):
    with out_lock:
        sys.stdout.write(json.dumps({'event': name, **data}) + '\n')
        sys.stdout.flush()


def new_view():
    view = WebKit2.WebView(web_context=context, settings=settings)
    window = Gtk.Window()
    window.set_default_size(1024, 768)
    window.add(view)
    window.show_all()
    next_view[0] += 1
    vid = next_view[0]
    views[vid] = {'view': view, 'window': window, 'pending_load': []}

    def on_load_changed(v, load_event):
        if load_event == WebKit2.LoadEvent.FINISHED:
            pending = views.get(vid, {}).get('pending_load', [])
            views[vid]['pending_load'] = []
            for cb in pending:
                cb(None)

    def on_load_failed(v, load_event, uri, err):
        pending = views.get(vid, {}).get('pending_load', [])
        views[vid]['pending_load'] = []
        for cb in pending:
            cb(f'load failed: {uri}: {err.message}')
        return False

    def on_crash(v, reason):
        event('crashed', view=vid, reason=reason.value_nick)

    view.connect('load-changed', on_load_changed)
    view.connect('load-failed', on_load_failed)
    view.connect('web-process-terminated', on_crash)
    return vid


def navigate(msg_id, vid, url=None, reload=False):
    entry = views[vid]

    def done(err):
        if err:
            reply(msg_id, False, error=err)
        else:
            reply(msg_id, True, vid)

    entry['pending_load'].append(done)
    if reload:
        entry['view'].reload()
    else:
        entry['view'].load_uri(url)


def call(msg_id, vid, body):
    view = views[vid]['view']

    def finished(v, result):
        try:
            value = v.call_async_javascript_function_finish(result)
            text = value.to_json(0) if not (value.is_undefined() or value.is_null()) else 'null'
            reply(msg_id, True, json.loads(text) if text is not None else None)
        except GLib.Error as e:
            reply(msg_id, False, error=e.message)

    view.call_async_javascript_function(body, -1, None, None, None, None, finished)


def handle(line):
    try:
        msg = json.loads(line)
    except ValueError:
        return False
    msg_id = msg.get('id')
    op = msg.get('op')
    try:
        if op == 'open':
            vid = new_view()
            if msg.get('url'):
                navigate(msg_id, vid, msg['url'])
            else:
                reply(msg_id, True, vid)
        elif op == 'goto':
            navigate(msg_id, msg['view'], msg['url'])
        elif op == 'reload':
            navigate(msg_id, msg['view'], reload=True)
        elif op == 'call':
            call(msg_id, msg['view'], msg['body'])
        elif op == 'close':
            entry = views.pop(msg['view'], None)
            if entry:
                entry['view'].try_close()
                entry['window'].destroy()
            reply(msg_id, True)
        elif op == 'quit':
            reply(msg_id, True)
            Gtk.main_quit()
        else:
            reply(msg_id, False, error=f'unknown op {op}')
    except Exception as e:  # noqa: BLE001
        reply(msg_id, False, error=f'{type(e).__name__}: {e}')
    return False


def reader():
    for line in sys.stdin:
        GLib.idle_add(handle, line)
    GLib.idle_add(Gtk.main_quit)  # stdin closed: the parent is gone


if args.automation:
    # WebKitWebDriver launches us with --automation and WEBKIT_INSPECTOR_SERVER set: accept its
    # automation session and create its views in our persistent context (MiniBrowser would use an
    # ephemeral data manager here).
    info = WebKit2.ApplicationInfo()
    info.set_name(args.app_name)
    info.set_version(WebKit2.get_major_version(), WebKit2.get_minor_version(), WebKit2.get_micro_version())
    context.set_automation_allowed(True)

    def on_create_web_view(session):
        view = WebKit2.WebView(web_context=context, settings=settings, is_controlled_by_automation=True)
        window = Gtk.Window()
        window.set_default_size(1024, 768)
        window.add(view)
        window.show_all()
        view.connect('close', lambda v: window.destroy())
        return view

    def on_automation_started(ctx, session):
        session.set_application_info(info)
        session.connect('create-web-view', on_create_web_view)

    context.connect('automation-started', on_automation_started)
    Gtk.main()
    sys.exit(0)

threading.Thread(target=reader, daemon=True).start()
event('ready', webkit=f'{WebKit2.get_major_version()}.{WebKit2.get_minor_version()}.{WebKit2.get_micro_version()}', features=enabled)
Gtk.main()
