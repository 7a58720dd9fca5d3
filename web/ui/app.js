/*
 * The nimbus web console: a single page over the REST API (docs/daemon.md,
 * docs/cloud.md), served by the daemon at /ui/ (docs/web-console.md).
 *
 * The token: typed into the sign-in form, or given once in the URL fragment
 * (/ui/#token=...; a fragment never reaches a server or its logs, and it is
 * removed from the address bar at once).  It is kept in sessionStorage (this
 * tab only, gone when it closes) and sent only as "Authorization: Bearer" on
 * the API's requests, and as the WebSocket subprotocol "bearer.TOKEN" of a
 * console (a browser cannot set headers on a WebSocket).  It never goes into
 * a URL.  Live updates read GET /1.0/events with fetch() for the same
 * reason (EventSource cannot send a header either).
 */
'use strict';

const TOKEN_KEY = 'nimbus.token';
const $ = (sel) => document.querySelector(sel);
const state = { token: null, project: null, instances: [], term: null, ws: null, fit: null,
                events: null, refreshTimer: null, networks: [], rules: [], volumeOp: null };

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function bytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}

function banner(msg, info) {
  const b = $('#banner');
  b.textContent = msg;
  b.className = 'banner' + (info ? ' info' : '');
  b.hidden = !msg;
  clearTimeout(banner.timer);
  if (msg) banner.timer = setTimeout(() => { b.hidden = true; }, info ? 4000 : 12000);
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/* One API call; the parsed reply, or an ApiError with the daemon's message. */
async function api(method, path, body) {
  const opts = { method, headers: { Authorization: 'Bearer ' + state.token } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  let j = null;
  try { j = await r.json(); } catch (e) { /* an empty reply */ }
  if (r.status === 401) { signOut('Your token was refused (revoked or unknown): sign in again.'); }
  if (!r.ok) throw new ApiError(r.status, (j && j.error && j.error.message) || r.statusText);
  return j;
}

/* Sign in and out */

async function signIn(token) {
  state.token = token;
  const projects = await api('GET', '/1.0/projects');
  state.project = projects.length === 1 ? projects[0].name : '(all)';
  sessionStorage.setItem(TOKEN_KEY, token);
  $('#project-name').textContent = state.project;
  $('#login-view').hidden = true;
  $('#app-view').hidden = false;
  await refreshAll();
  watchEvents();
}

function signOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  if (state.events) state.events.abort();
  closeConsole();
  $('#app-view').hidden = true;
  $('#login-view').hidden = false;
  $('#login-error').textContent = why || '';
  $('#token').value = '';
}

/* Instances */

function instanceRow(i) {
  const running = i.status === 'running' || i.status === 'paused';
  const act = (name, label, fn, cls) =>
    el('button', { 'data-act': name, class: cls || '', onclick: fn }, label);
  return el('tr', { 'data-name': i.name },
    el('td', {}, el('b', {}, i.name)),
    el('td', {}, i.type),
    el('td', {}, i.image),
    el('td', {}, el('span', { class: 'status ' + i.status }, i.status)),
    el('td', {}, i.config && i.config.cpus ? i.config.cpus : 1),
    el('td', {}, (i.config && i.config.memory_mib ? i.config.memory_mib : 256) + ' MiB'),
    el('td', { class: 'addrs' }, (i.networks || []).map((n) =>
      `${n.interface} ${n.ip} (${n.network})`).join(', ')),
    el('td', { class: 'acts' },
      running ? act('stop', 'Stop', () => lifecycle(i.name, 'stop'))
              : act('start', 'Start', () => lifecycle(i.name, 'start')),
      act('console', 'Console', () => openConsole(i.name)),
      act('delete', 'Delete', () => remove(i.name), 'danger')));
}

async function refreshInstances() {
  const list = await api('GET', '/1.0/instances');
  state.instances = list;
  const body = $('#instances tbody');
  body.replaceChildren(...list.map(instanceRow));
  $('#instances-empty').hidden = list.length > 0;
}

async function lifecycle(name, verb) {
  const row = document.querySelector(`tr[data-name="${CSS.escape(name)}"]`);
  if (row) row.querySelectorAll('button').forEach((b) => { b.disabled = true; });
  try {
    await api('POST', `/1.0/instances/${encodeURIComponent(name)}/${verb}`, {});
    banner(`${name}: ${verb === 'stop' ? 'stopped' : 'started'}`, true);
  } catch (e) {
    banner(`${name}: ${e.message}`);
  }
  await refreshInstances().catch((e) => banner(e.message));
}

async function remove(name) {
  if (!confirm(`Delete instance ${name}? Its disk goes with it.`)) return;
  try {
    await api('DELETE', `/1.0/instances/${encodeURIComponent(name)}?force=true`);
    banner(`${name}: deleted`, true);
  } catch (e) {
    banner(`${name}: ${e.message}`);
  }
  await refreshInstances().catch((e) => banner(e.message));
}

async function launch(ev) {
  ev.preventDefault();
  const body = { name: $('#launch-name').value.trim(), image: $('#launch-image').value };
  if ($('#launch-type').value) body.type = $('#launch-type').value;
  if ($('#launch-cpus').value) body.cpus = Number($('#launch-cpus').value);
  if ($('#launch-memory').value.trim()) body.memory = $('#launch-memory').value.trim();
  /* One network is a name, several an array (a NIC on each, eth0 first). */
  const nets = [...$('#launch-network').selectedOptions].map((o) => o.value);
  if (nets.length) body.network = nets.length === 1 ? nets[0] : nets;
  $('#launch-go').disabled = true;
  try {
    await api('POST', '/1.0/instances', body);
    banner(`${body.name}: launched`, true);
    $('#launch-form').hidden = true;
    $('#launch-form').reset();
  } catch (e) {
    banner(`launch ${body.name}: ${e.message}`);
  } finally {
    $('#launch-go').disabled = false;
  }
  await refreshInstances().catch((e) => banner(e.message));
}

/* Images, networks, volumes */

async function refreshImages() {
  const list = await api('GET', '/1.0/images');
  $('#images tbody').replaceChildren(...list.map((i) =>
    el('tr', {}, el('td', {}, el('b', {}, i.name)), el('td', {}, i.type),
       el('td', {}, el('code', {}, (i.digest || '').slice(0, 19))),
       el('td', {}, i.project ? `private to ${i.project}` : 'public'))));
  $('#launch-image').replaceChildren(...list.map((i) =>
    el('option', { value: i.name }, `${i.name} (${i.type})`)));
}

/* Networks: create and delete them; their port forwards; and the ingress
 * rules of an instance (PUT replaces an instance's list as a whole). */
async function refreshNetworks() {
  const list = await api('GET', '/1.0/networks');
  state.networks = list;
  $('#networks tbody').replaceChildren(...list.map((n) =>
    el('tr', { 'data-name': n.name }, el('td', {}, el('b', {}, n.name)), el('td', {}, n.subnet),
       el('td', {}, n.isolated ? 'isolated' : n.nat ? 'NAT' : 'routed'),
       el('td', {}, el('code', {}, n.bridge)), el('td', {}, n.instances),
       el('td', { class: 'acts' }, el('button', { 'data-act': 'delete', class: 'danger',
                                                   onclick: () => networkDelete(n.name) }, 'Delete')))));
  const keep = (sel, opts) => {
    const was = $(sel).value;
    $(sel).replaceChildren(...opts);
    if ([...$(sel).options].some((o) => o.value === was)) $(sel).value = was;
  };
  const chosen = new Set([...$('#launch-network').selectedOptions].map((o) => o.value));
  $('#launch-network').replaceChildren(...list.map((n) =>
    el('option', { value: n.name, selected: chosen.has(n.name) ? '' : undefined }, `${n.name} (${n.subnet})`)));
  keep('#forward-network', list.map((n) => el('option', { value: n.name }, n.name)));
  const inst = state.instances.map((i) => el('option', { value: i.name }, i.name));
  keep('#forward-instance', inst);
  keep('#rule-instance', inst.map((o) => o.cloneNode(true)));
  await Promise.all([refreshForwards(), refreshRules()]);
}

async function networkCreate(ev) {
  ev.preventDefault();
  const body = { name: $('#network-name').value.trim() };
  if ($('#network-subnet').value.trim()) body.subnet = $('#network-subnet').value.trim();
  if ($('#network-mode').value === 'nat') body.nat = true;
  if ($('#network-mode').value === 'isolated') body.isolated = true;
  $('#network-go').disabled = true;
  try {
    const n = await api('POST', '/1.0/networks', body);
    banner(`${body.name}: created (${n.subnet})`, true);
    $('#network-form').hidden = true;
    $('#network-form').reset();
  } catch (e) {
    banner(`network ${body.name}: ${e.message}`);
  } finally {
    $('#network-go').disabled = false;
  }
  await refreshNetworks().catch((e) => banner(e.message));
}

async function networkDelete(name) {
  if (!confirm(`Delete network ${name}?`)) return;
  try {
    await api('DELETE', `/1.0/networks/${encodeURIComponent(name)}`);
    banner(`${name}: deleted`, true);
  } catch (e) {
    banner(`${name}: ${e.message}`);
  }
  await refreshNetworks().catch((e) => banner(e.message));
}

async function refreshForwards() {
  const lists = await Promise.all((state.networks || []).map((n) =>
    api('GET', `/1.0/networks/${encodeURIComponent(n.name)}/forwards`)));
  $('#forwards tbody').replaceChildren(...lists.flat().map((f) => {
    const key = `${f.network}:${f.protocol}:${f.port}`;
    return el('tr', { 'data-name': key }, el('td', {}, f.network),
      el('td', {}, `${f.protocol}:${f.port}`), el('td', {}, `${f.instance}:${f.target_port}`),
      el('td', { class: 'acts' }, el('button', { 'data-act': 'delete', class: 'danger',
                                                 onclick: () => forwardDelete(f) }, 'Remove')));
  }));
}

async function forwardAdd(ev) {
  ev.preventDefault();
  const net = $('#forward-network').value;
  const body = { protocol: $('#forward-protocol').value, port: Number($('#forward-port').value),
                 instance: $('#forward-instance').value };
  if ($('#forward-target').value) body.target_port = Number($('#forward-target').value);
  try {
    await api('POST', `/1.0/networks/${encodeURIComponent(net)}/forwards`, body);
    banner(`${net}: ${body.protocol}:${body.port} forwarded to ${body.instance}`, true);
    $('#forward-port').value = '';
    $('#forward-target').value = '';
  } catch (e) {
    banner(`forward ${body.protocol}:${body.port}: ${e.message}`);
  }
  await refreshForwards().catch((e) => banner(e.message));
}

async function forwardDelete(f) {
  try {
    await api('DELETE', `/1.0/networks/${encodeURIComponent(f.network)}/forwards?protocol=${f.protocol}&port=${f.port}`);
    banner(`${f.network}: ${f.protocol}:${f.port} no longer forwarded`, true);
  } catch (e) {
    banner(`forward ${f.protocol}:${f.port}: ${e.message}`);
  }
  await refreshForwards().catch((e) => banner(e.message));
}

async function refreshRules() {
  const inst = $('#rule-instance').value;
  state.rules = inst ? (await api('GET', `/1.0/instances/${encodeURIComponent(inst)}/rules`)).rules : [];
  $('#rules tbody').replaceChildren(...state.rules.map((r, k) =>
    el('tr', { 'data-name': `${r.protocol}:${r.port || 0}:${r.source}` }, el('td', {}, r.protocol),
       el('td', {}, r.protocol === 'icmp' ? '—' : r.port ? r.port : 'every port'), el('td', {}, r.source),
       el('td', { class: 'acts' }, el('button', { 'data-act': 'delete', class: 'danger',
                                                  onclick: () => rulesPut(state.rules.filter((_, j) => j !== k), 'removed') },
                                      'Remove')))));
}

async function rulesPut(rules, what) {
  const inst = $('#rule-instance').value;
  try {
    await api('PUT', `/1.0/instances/${encodeURIComponent(inst)}/rules`, { rules });
    banner(`${inst}: rule ${what}`, true);
  } catch (e) {
    banner(`${inst}: ${e.message}`);
  }
  await refreshRules().catch((e) => banner(e.message));
}

function ruleAdd(ev) {
  ev.preventDefault();
  const r = { protocol: $('#rule-protocol').value };
  if (r.protocol !== 'icmp') r.port = Number($('#rule-port').value || 0);
  if ($('#rule-source').value.trim()) r.source = $('#rule-source').value.trim();
  $('#rule-port').value = '';
  $('#rule-source').value = '';
  return rulesPut([...(state.rules || []), r], 'added');
}

/* A volume's row: attach (to an instance of the fitting kind) or detach,
 * and delete; the daemon's refusals (in use, attached) are shown as worded. */
function volumeRow(v) {
  const kind = v.type === 'dir' ? 'container' : 'vm';
  const acts = el('td', { class: 'acts' });
  if (v.attached_to) {
    acts.append(el('button', { 'data-act': 'detach', onclick: () => volumeAct(v.name, 'detach', {}) }, 'Detach'));
  } else if (!v.snapshot_of) {
    const pick = el('select', { 'data-act': 'attach-to' }, el('option', { value: '' }, 'attach to...'),
      ...state.instances.filter((i) => i.type === kind).map((i) => el('option', { value: i.name }, i.name)));
    pick.addEventListener('change', () => { if (pick.value) volumeAct(v.name, 'attach', { instance: pick.value }); });
    acts.append(pick);
  }
  const op = (verb, label) => el('button', { 'data-act': verb, onclick: () => volumeOpOpen(v.name, verb) }, label);
  if (!v.snapshot_of) acts.append(op('snapshot', 'Snapshot'), op('resize', 'Resize'));
  acts.append(op('clone', 'Clone'));
  acts.append(el('button', { 'data-act': 'delete', class: 'danger', onclick: () => volumeDelete(v.name) }, 'Delete'));
  return el('tr', { 'data-name': v.name }, el('td', {}, el('b', {}, v.name)), el('td', {}, v.type),
    el('td', {}, bytes(v.size)), el('td', {}, v.attached_to || '—'),
    el('td', {}, v.snapshot_of || '—'), acts);
}

async function refreshVolumes() {
  const [list, ops] = await Promise.all([api('GET', '/1.0/volumes'), api('GET', '/1.0/operations')]);
  $('#volumes tbody').replaceChildren(...list.map(volumeRow));
  /* The project's operations journal (its snapshots, clones, resizes), newest first. */
  $('#operations tbody').replaceChildren(...ops.slice().reverse().slice(0, 20).map((o) =>
    el('tr', { 'data-name': o.id },
      el('td', {}, new Date(o.created_at * 1000).toLocaleString()), el('td', {}, o.type),
      el('td', {}, el('code', {}, o.resource)),
      el('td', {}, el('span', { class: 'status ' + o.status }, o.status),
         o.error ? ` ${o.error}` : ''))));
}

async function volumeAct(name, verb, body) {
  try {
    const r = await api('POST', `/1.0/volumes/${encodeURIComponent(name)}/${verb}`, body);
    banner(`${name}: ${verb === 'attach' ? 'attached to ' + body.instance : 'detached'}` +
           (r && r.note ? ` (${r.note})` : verb === 'attach' ? ' (from its next start)' : ''), true);
  } catch (e) {
    banner(`${name}: ${e.message}`);
  }
  await refreshVolumes().catch((e) => banner(e.message));
}

/* Snapshot, clone and resize ask for one value (the new volume's name, or
 * the new size) in a small form; refusals (running, quota, room) are shown
 * as the daemon words them. */
function volumeOpOpen(name, verb) {
  state.volumeOp = { name, verb };
  $('#volume-op-label').textContent = verb === 'resize' ? `New size of ${name}`
    : verb === 'snapshot' ? `Name of the snapshot of ${name}` : `Name of the clone of ${name}`;
  $('#volume-op-value').value = '';
  $('#volume-op-value').placeholder = verb === 'resize' ? '20G' : `${name}-${verb === 'snapshot' ? 'snap' : 'copy'}`;
  $('#volume-op-form').hidden = false;
  $('#volume-op-value').focus();
}

async function volumeOp(ev) {
  ev.preventDefault();
  const { name, verb } = state.volumeOp || {};
  if (!name) return;
  const value = $('#volume-op-value').value.trim();
  const body = verb === 'resize' ? { size: value } : { name: value };
  try {
    await api('POST', `/1.0/volumes/${encodeURIComponent(name)}/${verb}`, body);
    banner(verb === 'resize' ? `${name}: resized to ${value}`
      : `${name}: ${verb === 'snapshot' ? 'snapshot' : 'clone'} ${value} made`, true);
    $('#volume-op-form').hidden = true;
  } catch (e) {
    banner(`${name}: ${verb}: ${e.message}`);
  }
  await refreshVolumes().catch((e) => banner(e.message));
}

async function volumeDelete(name) {
  if (!confirm(`Delete volume ${name} and its data?`)) return;
  try {
    await api('DELETE', `/1.0/volumes/${encodeURIComponent(name)}`);
    banner(`${name}: deleted`, true);
  } catch (e) {
    banner(`${name}: ${e.message}`);
  }
  await refreshVolumes().catch((e) => banner(e.message));
}

async function volumeCreate(ev) {
  ev.preventDefault();
  const body = { name: $('#volume-name').value.trim(), size: $('#volume-size').value.trim(),
                 type: $('#volume-type').value };
  try {
    await api('POST', '/1.0/volumes', body);
    banner(`${body.name}: created`, true);
    $('#volume-form').hidden = true;
    $('#volume-form').reset();
  } catch (e) {
    banner(`volume ${body.name}: ${e.message}`);
  }
  await refreshVolumes().catch((e) => banner(e.message));
}

/* Usage: totals, and per-project CPU and memory over time as bars of
 * equal slices of the chosen range (one /1.0/usage call per slice). */

const SLICES = 12;

function barChart(svg, values, labels) {
  const W = 600, H = 180, pad = 28, max = Math.max(...values, 1e-9);
  const bw = (W - pad) / values.length;
  const kids = [el('line', { x1: pad, y1: H - 20, x2: W, y2: H - 20 })];
  values.forEach((v, i) => {
    const h = (H - 40) * v / max;
    const x = pad + i * bw + 3;
    kids.push(el('rect', { class: 'bar', x, y: H - 20 - h, width: bw - 6, height: h, rx: 2 }));
    if (i % 2 === values.length % 2)   /* every other label: they would touch */
      kids.push(el('text', { x: x + (bw - 6) / 2, y: H - 6, 'text-anchor': 'middle' }, labels[i]));
  });
  kids.push(el('text', { x: 2, y: 14 }, max < 10 ? max.toPrecision(2) : Math.round(max)));
  svg.replaceChildren(...kids.map((k) => {
    const n = document.createElementNS('http://www.w3.org/2000/svg', k.tagName.toLowerCase());
    for (const a of k.attributes) n.setAttribute(a.name, a.value);
    n.textContent = k.textContent;
    return n;
  }));
}

async function refreshUsage() {
  const range = Number($('#usage-range').value);
  const now = Math.floor(Date.now() / 1000), from = now - range, step = range / SLICES;
  const total = await api('GET', `/1.0/usage?since=${from}&until=${now}`);
  const rows = [];
  for (const p of total.projects) {
    const cost = p.bill ? `${p.bill.total.toFixed(4)} ${p.bill.currency}` : '—';
    rows.push(el('tr', {}, el('td', {}, el('b', {}, p.project)), el('td', {}, 'total'),
      el('td', {}, `${p.vcpu_seconds.toFixed(1)} (${(p.cpu_seconds || 0).toFixed(1)})`),
      el('td', {}, p.memory_gib_hours.toFixed(4)),
      el('td', {}, p.disk_gib_hours.toFixed(4)),
      el('td', {}, `${bytes(p.net_rx_bytes || 0)} / ${bytes(p.net_tx_bytes || 0)}`),
      el('td', { class: 'cost' }, cost)));
    for (const i of p.instances || [])
      rows.push(el('tr', {}, el('td', {}), el('td', {}, i.name),
        el('td', {}, `${(i.vcpu_seconds || 0).toFixed(1)} (${(i.cpu_seconds || 0).toFixed(1)})`),
        el('td', {}, (i.memory_gib_hours || 0).toFixed(4)), el('td', {}, ''),
        el('td', {}, `${bytes(i.net_rx_bytes || 0)} / ${bytes(i.net_tx_bytes || 0)}`), el('td', {}, '')));
    for (const v of p.volumes || [])
      rows.push(el('tr', {}, el('td', {}), el('td', {}, v.name + ' (volume)'), el('td', {}, ''),
        el('td', {}, ''), el('td', {}, (v.disk_gib_hours || 0).toFixed(4)), el('td', {}, ''),
        el('td', {}, '')));
  }
  $('#usage tbody').replaceChildren(...rows);
  const slices = await Promise.all([...Array(SLICES).keys()].map((k) =>
    api('GET', `/1.0/usage?since=${Math.floor(from + k * step)}&until=${Math.floor(from + (k + 1) * step)}`)));
  const sum = (u, f) => u.projects.reduce((a, p) => a + p[f], 0);
  const labels = slices.map((u) => new Date(u.until * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false }));
  barChart($('#chart-cpu'), slices.map((u) => sum(u, 'vcpu_seconds')), labels);
  barChart($('#chart-mem'), slices.map((u) => sum(u, 'memory_gib_hours')), labels);
}

async function refreshAll() {
  await refreshInstances().catch((e) => banner(e.message));   /* the forms' instance lists */
  const parts = [refreshImages(), refreshNetworks(), refreshVolumes()];
  for (const r of await Promise.allSettled(parts))
    if (r.status === 'rejected') banner(r.reason.message);
}

/* Live updates: the event stream, read with fetch so the token goes in a
 * header; reconnects with Last-Event-ID after a drop. */

async function watchEvents() {
  let last = null;
  while (state.token) {
    const ctl = new AbortController();
    state.events = ctl;
    try {
      const headers = { Authorization: 'Bearer ' + state.token };
      if (last) headers['Last-Event-ID'] = last;
      const r = await fetch('/1.0/events', { headers, signal: ctl.signal });
      if (!r.ok) throw new Error('events: ' + r.status);
      $('#live').classList.add('on');
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const ev = {};
          for (const line of block.split('\n')) {
            const m = /^(id|event|data): ?(.*)$/.exec(line);
            if (m) ev[m[1]] = m[2];
          }
          if (ev.id) last = ev.id;
          if (ev.event) onEvent(ev.event, ev.data ? JSON.parse(ev.data) : {});
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    $('#live').classList.remove('on');
    await new Promise((res) => setTimeout(res, 2000));
  }
}

function onEvent(type, data) {
  const li = el('li', {}, el('time', {}, new Date().toLocaleTimeString()),
    `${type}${data.instance ? ' ' + data.instance : ''}${data.detail ? ': ' + data.detail : ''}`);
  $('#events').prepend(li);
  while ($('#events').children.length > 50) $('#events').lastChild.remove();
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => refreshInstances().catch((e) => banner(e.message)), 150);
}

/* The console: xterm.js over a WebSocket to GET /1.0/instances/NAME/console. */

/* A container's stdio is no terminal (no echo, no line editing, "\n" not
 * "\r\n"), so for one the console edits a line here, like a terminal in
 * canonical mode, and sends it whole; a VM's serial line is a terminal of
 * the guest's and gets every key as it is typed. */
function lineDiscipline(term, send) {
  let line = '';
  return (d) => {
    for (const ch of d) {
      if (ch === '\r' || ch === '\n') {
        term.write('\r\n');
        send(line + '\n');
        line = '';
      } else if (ch === '\x7f' || ch === '\b') {
        if (line) { line = line.slice(0, -1); term.write('\b \b'); }
      } else if (ch === '\x03') {
        line = '';
        term.write('^C\r\n');
      } else if (ch === '\x04') {
        send(line);
        line = '';
      } else if (ch >= ' ') {
        line += ch;
        term.write(ch);
      }
    }
  };
}

function openConsole(name) {
  closeConsole();
  const inst = state.instances.find((i) => i.name === name);
  const container = inst && inst.type === 'container';
  $('#console').hidden = false;
  document.body.classList.add('console-open');
  $('#console-name').textContent = name;
  $('#console-state').textContent = 'connecting...';
  const term = new Terminal({ convertEol: container, cursorBlink: true, fontSize: 13,
                              fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
                              theme: { background: '#111418' } });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open($('#terminal'));
  fit.fit();
  state.term = term;
  state.fit = fit;
  const url = `wss://${location.host}/1.0/instances/${encodeURIComponent(name)}/console`;
  const ws = new WebSocket(url, ['nimbus-console', 'bearer.' + state.token]);
  ws.binaryType = 'arraybuffer';
  state.ws = ws;
  const enc = new TextEncoder();
  ws.onopen = () => {
    $('#console-state').textContent = 'connected';
    ws.send(enc.encode(container ? '\n' : '\r'));   /* wake a prompt */
    term.focus();
  };
  ws.onmessage = (m) => term.write(new Uint8Array(m.data));
  ws.onclose = (c) => {
    $('#console-state').textContent = `closed${c.code && c.code !== 1000 ? ' (' + c.code + ')' : ''}`;
    if (state.ws === ws) term.write('\r\n\x1b[2m[console closed]\x1b[0m\r\n');
  };
  ws.onerror = () => { $('#console-state').textContent = 'could not connect (is it running?)'; };
  const send = (d) => { if (ws.readyState === WebSocket.OPEN) ws.send(enc.encode(d)); };
  term.onData(container ? lineDiscipline(term, send) : send);
}

function closeConsole() {
  if (state.ws) { const ws = state.ws; state.ws = null; ws.close(); }
  if (state.term) { state.term.dispose(); state.term = null; }
  $('#console').hidden = true;
  document.body.classList.remove('console-open');
}

/* Wiring */

function showTab(name) {
  document.querySelectorAll('.tab').forEach((t) => t.classList.toggle('active', t.dataset.tab === name));
  document.querySelectorAll('.tab-page').forEach((p) => { p.hidden = p.id !== 'tab-' + name; });
  const load = { instances: refreshInstances, images: refreshImages, networks: refreshNetworks,
                 volumes: refreshVolumes, usage: refreshUsage }[name];
  load().catch((e) => banner(e.message));
}

function init() {
  $('#login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    signIn($('#token').value.trim()).catch((e) => {
      sessionStorage.removeItem(TOKEN_KEY);
      $('#login-error').textContent = e.status === 401 ? 'That token was refused.' : e.message;
    });
  });
  $('#logout').addEventListener('click', () => signOut());
  $('#tabs').addEventListener('click', (ev) => { if (ev.target.dataset.tab) showTab(ev.target.dataset.tab); });
  $('#launch-open').addEventListener('click', () => { $('#launch-form').hidden = false; $('#launch-name').focus(); });
  $('#launch-cancel').addEventListener('click', () => { $('#launch-form').hidden = true; });
  $('#launch-form').addEventListener('submit', launch);
  $('#volume-open').addEventListener('click', () => { $('#volume-form').hidden = false; $('#volume-name').focus(); });
  $('#volume-cancel').addEventListener('click', () => { $('#volume-form').hidden = true; });
  $('#volume-form').addEventListener('submit', volumeCreate);
  $('#volume-op-form').addEventListener('submit', volumeOp);
  $('#volume-op-cancel').addEventListener('click', () => { $('#volume-op-form').hidden = true; });
  $('#network-open').addEventListener('click', () => { $('#network-form').hidden = false; $('#network-name').focus(); });
  $('#network-cancel').addEventListener('click', () => { $('#network-form').hidden = true; });
  $('#network-form').addEventListener('submit', networkCreate);
  $('#forward-form').addEventListener('submit', forwardAdd);
  $('#rule-form').addEventListener('submit', ruleAdd);
  $('#rule-instance').addEventListener('change', () => refreshRules().catch((e) => banner(e.message)));
  $('#usage-range').addEventListener('change', () => refreshUsage().catch((e) => banner(e.message)));
  $('#console-close').addEventListener('click', closeConsole);
  window.addEventListener('resize', () => { if (state.fit) state.fit.fit(); });

  window.addEventListener('hashchange', () => { if (fragmentToken()) start(); });
  fragmentToken();
  start();
}

/* A token in the fragment (scripted use): taken, then wiped from the
 * address bar and the history entry.  Whether there was one. */
function fragmentToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return false;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname);
  return true;
}

function start() {
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved).catch((e) => signOut(e.message));
  else signOut();
}

init();
