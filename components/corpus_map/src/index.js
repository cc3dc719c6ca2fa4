// EQUAL-CTAR Explorer's corpus map: a Streamlit components.v2 module drawing every point with
// regl-scatterplot (one WebGL context per mounted map, kept across data updates).
//
// Streamlit calls the default export again with the SAME parentElement whenever the element's
// data changes (a rerun). So all state lives in MAPS (per parentElement) and CACHE (per map
// version, for the module's lifetime): a call only applies what differs.
//
// Data (bytes, see core/viz/webgl_map.py): "CMAP" | uint32 header length | header JSON | pad to 4 |
// binary sections named in header.sections {name: [byteOffset, length, "f32"|"i32"]}.
// State sent back: have (the version whose points this browser holds), selection
// ({seq, n, v, enc: "none"|"i32"|"bits", b64}), hover (the point index whose text it wants).
import createScatterplot from 'regl-scatterplot';

const MAPS = new WeakMap();
const CACHE = new Map(); // version -> {x, y, z, n}; the last two versions
const HOVER_DELAY_MS = 250;
const PERFORMANCE_MODE_POINTS = 500000;
const ACTIVE = '#e8590c'; // selected and highlighted points
const HOVER = '#1f2430';

function parsePayload(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== 'CMAP') throw new Error('corpus map: not a CMAP payload');
  const hlen = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
  const start = 8 + hlen + ((4 - (hlen % 4)) % 4);
  const sections = {};
  for (const [name, [off, len, kind]] of Object.entries(header.sections || {})) {
    // copy into an aligned buffer: the payload's byteOffset need not be a multiple of 4
    const raw = bytes.slice(start + off, start + off + len * 4).buffer;
    sections[name] = kind === 'i32' ? new Int32Array(raw) : new Float32Array(raw);
  }
  return { header, sections };
}

function toBase64(u8) {
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
  return btoa(s);
}

// The selected point indices, compactly: int32 list when short, else a bitmap of n bits (little bit order).
export function encodeSelection(points, n, seq, v) {
  if (!points || points.length === 0) return { seq, n, v, enc: 'none', b64: '' };
  if (points.length * 32 < n) {
    return { seq, n, v, enc: 'i32', b64: toBase64(new Uint8Array(Int32Array.from(points).buffer)) };
  }
  const bits = new Uint8Array((n + 7) >> 3);
  for (let k = 0; k < points.length; k++) { const i = points[k]; bits[i >> 3] |= 1 << (i & 7); }
  return { seq, n, v, enc: 'bits', b64: toBase64(bits) };
}

function el(tag, cls, parent) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}

function webglAvailable() {
  try {
    const c = document.createElement('canvas');
    return !!(c.getContext('webgl2') || c.getContext('webgl'));
  } catch (e) { return false; }
}

function buildDom(parent, height) {
  const root = el('div', 'cmap-root', parent);
  root.setAttribute('data-testid', 'corpus-map');
  root.setAttribute('data-points', '0');
  root.tabIndex = 0;
  root.style.height = `${height}px`;
  const bar = el('div', 'cmap-bar', root);
  const modes = {};
  for (const [mode, label, title] of [['pan', 'Pan', 'Drag to pan (Shift+drag draws a lasso)'],
    ['box', 'Box', 'Drag a box to select'], ['lasso', 'Lasso', 'Draw a lasso to select']]) {
    const b = el('button', 'cmap-btn', bar);
    b.type = 'button'; b.textContent = label; b.title = title; b.dataset.mode = mode;
    modes[mode] = b;
  }
  const reset = el('button', 'cmap-btn', bar);
  reset.type = 'button'; reset.textContent = 'Reset view'; reset.dataset.action = 'reset';
  const hint = el('span', 'cmap-hint', bar);
  const canvasBox = el('div', 'cmap-canvas', root);
  const canvas = el('canvas', '', canvasBox);
  const tip = el('div', 'cmap-tip', root);
  const note = el('div', 'cmap-note', root);
  return { root, bar, modes, reset, hint, canvasBox, canvas, tip, note };
}

function setMode(m, mode) {
  m.mode = mode;
  for (const [k, b] of Object.entries(m.dom.modes)) b.classList.toggle('cmap-on', k === mode);
  if (mode === 'pan') m.sp.set({ mouseMode: 'panZoom' });
  else m.sp.set({ mouseMode: 'lasso', lassoType: mode === 'box' ? 'rectangle' : 'freeform' });
}

// The wheel zooms only when the map has focus or with Ctrl/Cmd/Alt; otherwise the page scrolls.
function guardWheel(m) {
  m.dom.canvasBox.addEventListener('wheel', (e) => {
    const focused = m.dom.root.contains(document.activeElement);
    if (focused || e.ctrlKey || e.metaKey || e.altKey) return;
    e.stopPropagation(); // never reaches the camera's handler: no preventDefault, the page scrolls
    m.dom.hint.textContent = 'Click the map (or hold Ctrl) to zoom with the wheel';
  }, { capture: true, passive: true });
  m.dom.root.addEventListener('pointerdown', () => m.dom.root.focus({ preventScroll: true }));
}

function showTip(m, index, text) {
  const tip = m.dom.tip;
  if (index === null || index === undefined) { tip.style.display = 'none'; return; }
  tip.textContent = text; // text, never markup: a document's <b> or <script> shows as written
  tip.style.display = 'block';
  const [px, py] = m.mouse;
  tip.style.left = `${Math.min(px + 12, m.dom.root.clientWidth - 320)}px`;
  tip.style.top = `${py + 12}px`;
}

function hoverText(m, index) {
  const h = m.header;
  if (h.texts) return h.texts[index] ?? '';
  if (m.hoverCache.has(index)) return m.hoverCache.get(index);
  return null;
}

function wireEvents(m) {
  const { sp } = m;
  sp.subscribe('select', ({ points }) => {
    if (m.applyingHighlight) return;
    m.seq += 1;
    m.setStateValue('selection', encodeSelection(points, m.n, m.seq, m.version));
  });
  sp.subscribe('deselect', () => {
    if (m.applyingHighlight) return;
    m.seq += 1;
    m.setStateValue('selection', encodeSelection([], m.n, m.seq, m.version));
  });
  sp.subscribe('pointOver', (index) => {
    m.hovered = index;
    const text = hoverText(m, index);
    if (text !== null) { showTip(m, index, text); return; }
    showTip(m, index, '…');
    clearTimeout(m.hoverTimer);
    m.hoverTimer = setTimeout(() => { if (m.hovered === index) m.setStateValue('hover', index); }, HOVER_DELAY_MS);
  });
  sp.subscribe('pointOut', () => { m.hovered = null; showTip(m, null); });
  m.dom.canvasBox.addEventListener('mousemove', (e) => {
    const r = m.dom.root.getBoundingClientRect();
    m.mouse = [e.clientX - r.left, e.clientY - r.top];
  });
  for (const [mode, b] of Object.entries(m.dom.modes)) b.addEventListener('click', () => setMode(m, mode));
  m.dom.reset.addEventListener('click', () => sp.reset());
  new ResizeObserver(() => {
    const { width, height } = m.dom.canvasBox.getBoundingClientRect();
    if (width > 0 && height > 0) sp.set({ width, height });
  }).observe(m.dom.canvasBox);
  guardWheel(m);
}

function create(parent, header, api) {
  const dom = buildDom(parent, header.height || 560);
  if (!webglAvailable()) {
    dom.note.textContent = 'This browser has no WebGL, so the map cannot be drawn. '
      + 'Enable hardware acceleration (or WebGL) in the browser settings, or use another browser.';
    dom.note.classList.add('cmap-error');
    dom.root.setAttribute('data-webgl', 'missing');
    return { dom, sp: null };
  }
  const { width, height } = dom.canvasBox.getBoundingClientRect();
  const sp = createScatterplot({
    canvas: dom.canvas, width: Math.max(width, 100), height: Math.max(height, 100),
    pointSize: 3, pointSizeSelected: 2, opacity: 0.85, lassoColor: [0.23, 0.36, 0.86, 1],
    backgroundColor: [1, 1, 1, 0], lassoInitiator: false, deselectOnDblClick: true,
    // events at once, not a few frames later (a frame of a million points takes ~0.7 s in software GL)
    syncEvents: true,
    // squares without alpha blending: cheaper frames for maps of many points (set once, at creation)
    performanceMode: (header.n || 0) >= PERFORMANCE_MODE_POINTS,
    deselectOnEscape: true, actionKeyMap: { lasso: 'shift' }, opacityInactiveScale: 0.5,
  });
  const m = { dom, sp, header, version: null, n: 0, seq: 0, mouse: [0, 0], hovered: null, hoverTimer: 0,
    hoverCache: new Map(), highlightSig: null, applyingHighlight: false, colorsSig: null, ...api };
  dom.root.__cmap = m; // benchmarks and tests reach the scatterplot through the element
  wireEvents(m);
  setMode(m, 'pan');
  return m;
}

function pointsFor(header, sections) {
  if (sections.x) {
    const pts = { x: sections.x, y: sections.y, z: sections.z, n: header.n };
    CACHE.set(header.v, pts);
    while (CACHE.size > 2) CACHE.delete(CACHE.keys().next().value);
    return pts;
  }
  return CACHE.get(header.v) || null;
}

async function applyHighlight(m, header, sections) {
  const sig = header.highlight_sig ?? null;
  if (sig === m.highlightSig) return;
  m.highlightSig = sig;
  m.applyingHighlight = true;
  try {
    const ids = sections.highlight ? Array.from(sections.highlight) : [];
    if (ids.length) m.sp.select(ids, { preventEvent: true });
    else m.sp.deselect({ preventEvent: true });
  } finally { m.applyingHighlight = false; }
  m.dom.root.setAttribute('data-highlighted', String(sections.highlight ? sections.highlight.length : 0));
  m.dom.root.setAttribute('data-highlight-sig', String(sig));
}

async function update(m, header, sections) {
  m.header = header;
  m.dom.note.textContent = header.note || '';
  if (header.hover) m.hoverCache.set(header.hover.i, header.hover.text);
  if (m.hovered !== null && header.hover && header.hover.i === m.hovered) showTip(m, m.hovered, header.hover.text);
  const colorsSig = JSON.stringify(header.colors || []);
  if (colorsSig !== m.colorsSig) {
    m.colorsSig = colorsSig;
    const colors = header.colors && header.colors.length ? header.colors : ['#3b5bdb'];
    // as many active and hover colours as point colours, or regl-scatterplot reuses each point's own colour
    m.sp.set({ colorBy: 'valueA', pointColor: colors, pointColorActive: colors.map(() => ACTIVE),
      pointColorHover: colors.map(() => HOVER) });
  }
  if (m.version !== header.v) {
    const pts = pointsFor(header, sections);
    if (!pts) { m.setStateValue('have', null); return; } // this browser lost the points: ask for them again
    m.version = header.v;
    m.n = pts.n;
    m.highlightSig = null;
    const t0 = performance.now();
    await m.sp.draw({ x: pts.x, y: pts.y, valueA: pts.z }, { zDataType: 'categorical' });
    m.dom.root.setAttribute('data-points', String(pts.n));
    m.dom.root.setAttribute('data-version', header.v);
    m.dom.root.setAttribute('data-draw-ms', String(Math.round(performance.now() - t0)));
    m.setStateValue('have', header.v);
  }
  await applyHighlight(m, header, sections);
}

export default function corpusMap(component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  if (!data) return undefined;
  const { header, sections } = parsePayload(data);
  const size = data.byteLength;
  let m = MAPS.get(parentElement);
  if (!m) {
    m = create(parentElement, header, { setStateValue, setTriggerValue });
    MAPS.set(parentElement, m);
  } else {
    Object.assign(m, { setStateValue, setTriggerValue });
  }
  if (!m.sp) return undefined;
  m.dom.root.setAttribute('data-payload-bytes', String(size)); // tests check that points travel once
  m.pending = (m.pending || Promise.resolve()).then(() => update(m, header, sections)).catch((e) => {
    m.dom.note.textContent = `The map could not be drawn: ${e && e.message ? e.message : e}`;
  });
  return () => { // on unmount only: Streamlit keeps the latest cleanup and runs it when the element goes
    if (MAPS.get(parentElement) === m) {
      MAPS.delete(parentElement);
      m.sp.destroy();
      m.dom.root.remove();
    }
  };
}
