// EQUAL-CTAR Explorer's corpus map: a Streamlit components.v2 module drawing every point with
// regl-scatterplot (one WebGL context per mounted map, kept across data updates).
//
// Streamlit calls the default export again with the SAME parentElement whenever the element's
// data changes (a rerun). So all state lives in MAPS (per parentElement) and CACHE (per map
// version, for the module's lifetime): a call only applies what differs.
//
// Data (bytes, see core/viz/webgl_map.py): "CMAP" | uint32 header length | header JSON | pad to 4 |
// binary sections named in header.sections {name: [byteOffset, length, "f32"|"i32"|"u16"]} (z, the colour codes, is
// uint16 when they fit).
// header.v names the points (their places), header.zv their colour codes: new codes for the same points come alone as
// sections.z (another "Colour by"), and the points are recoloured in place, the selection kept (recolour).
// State sent back: have (the version whose points this browser holds), selection
// ({seq, n, v, enc: "none"|"i32"|"bits", b64} for clicked points; {seq, n, v, enc: "poly", poly, hidden, zv} for a box
// or lasso: its polygon in the points' coordinates, which the server tests the points against, so no ids travel
// and no WebGL frame runs before the page answers), hover (the point index whose text it wants).
// A box or lasso is drawn on the overlay while dragged and stays there, shaded, as the selection; the server's
// answer (header.sel: {seq, n}, and sections.selected when few) counts it and marks its points.
// Over the WebGL canvas a 2-D canvas draws the labels (header.labels [level, code, text, x, y, size, clusters?]:
// coarse groups zoomed out, clusters zoomed in, largest first, none overlapping, none past an edge; a label goes
// with the clusters the legend hides, see labelsToDraw), stars
// (sections.stars), rings (sections.marks), the hovered point and a highlight of up to OVERLAY_HIGHLIGHT points (more:
// the scatterplot's own selection); a legend (header.legend) hides and shows codes (sp.filter).
// Hover is found here (wireHover), never by regl-scatterplot: its hover redraws every point, ~1 s a newly hovered
// point at a million points in software GL.
import createREGL from 'regl';
import createScatterplot, { checkSupport } from 'regl-scatterplot';

const MAPS = new WeakMap();
const CACHE = new Map(); // version -> {x, y, z, zv, n, texts}; the last two versions
const HOVER_DELAY_MS = 250;
const TIP_GAP = 12; // pixels between the mouse and its tip
const PERFORMANCE_MODE_POINTS = 500000;
const DEFER_INDEX_POINTS = 100000; // maps of this many points get their spatial index after the first frame
const INDEX_NODE_SIZE = 16; // regl-scatterplot's
const ACTIVE = '#e8590c'; // selected and highlighted points
const HOVER = '#1f2430';
const STAR = '#f59f00';
const RING = '#c2255c';
const OVERLAY_HIGHLIGHT = 5000; // highlights of up to this many points are drawn on the 2-D overlay
const FINE_ZOOM = 1.6; // zoom (over the starting view's) from which cluster labels replace the coarse groups' labels
const FIT_MARGIN_PX = 12; // the starting view keeps the points this far from the canvas's edges and an open legend
const LABEL_FONT = '600 12px sans-serif';
const DRAG_MIN_PX = 4; // a press that moves less is a click
const NEAR_PX = 6; // a hover or click finds the nearest point within this many pixels
const LASSO_STEP_PX = 3; // lasso vertices at least this far apart (screen pixels)
const MAX_LASSO_VERTICES = 2048; // the server refuses longer polygons
const REGION_FILL = 'rgba(59, 91, 219, 0.10)';
const REGION_LINE = 'rgba(59, 91, 219, 0.9)';

// regl-scatterplot's own renderer draws into an offscreen WebGL canvas and copies every frame into the
// visible 2-D canvas with drawImage: a synchronous read-back that holds the page's main thread until the
// frame is rendered (0.3-1 s for a million points in software GL), so a selection's answer from the server
// waited for it. This renderer draws into the visible canvas itself: frames render in the GPU process while
// the page goes on. Its context has no multisampling (regl-scatterplot's createRegl asks for it, but the points
// never had it: they are drawn into a framebuffer first), and with gamma 1 (always, here) the points are drawn
// straight onto the canvas, the same blending, without the float framebuffer and the copy pass: 10-20 % of a
// million points' frame in software GL. Otherwise the same steps as regl-scatterplot 1.16's createRenderer (MIT):
// points into a float framebuffer, then gamma-corrected onto the canvas.
const GL_EXTENSIONS = ['OES_texture_float', 'OES_element_index_uint', 'WEBGL_color_buffer_float', 'EXT_float_blend'];

function createDirectRenderer(canvas) {
  const gl = canvas.getContext('webgl', { antialias: false, preserveDrawingBuffer: true });
  const regl = createREGL({ gl, extensions: GL_EXTENSIONS.filter((name) => gl.getExtension(name)) });
  const fboRes = [Math.max(canvas.width, 1), Math.max(canvas.height, 1)];
  const fbo = regl.framebuffer({ width: fboRes[0], height: fboRes[1], colorFormat: 'rgba', colorType: 'float' });
  const supported = checkSupport(regl, true);
  let gamma = 1;
  let destroyed = false;
  let frames = 0; // frames rendered (tests: a first draw renders the points once)
  const toCanvas = regl({
    vert: 'precision highp float; attribute vec2 xy; void main () { gl_Position = vec4(xy, 0, 1); }',
    frag: `precision highp float;
      uniform vec2 srcRes; uniform sampler2D src; uniform float gamma;
      void main () {
        vec4 color = texture2D(src, gl_FragCoord.xy / srcRes);
        gl_FragColor = vec4(pow(clamp(color.rgb, vec3(0), vec3(1)), vec3(1.0 / gamma)), color.a);
      }`,
    attributes: { xy: [-4, -4, 4, -4, 0, 4] },
    uniforms: { src: () => fbo, srcRes: () => fboRes, gamma: () => gamma },
    count: 3,
    depth: { enable: false },
    blend: { enable: true, func: { srcRGB: 'one', srcAlpha: 'one', dstRGB: 'one minus src alpha',
      dstAlpha: 'one minus src alpha' } },
  });
  const clear = { color: [0, 0, 0, 0], depth: 1 };
  const drawFns = new Set();
  const frame = regl.frame(() => { for (const f of drawFns) f(); });
  return {
    get canvas() { return canvas; },
    get regl() { return regl; },
    get gamma() { return gamma; },
    set gamma(g) { gamma = +g; },
    get isSupported() { return supported; },
    get isDestroyed() { return destroyed; },
    get frames() { return frames; },
    render(draw) {
      frames += 1;
      if (fboRes[0] !== canvas.width || fboRes[1] !== canvas.height) {
        fboRes[0] = Math.max(canvas.width, 1); fboRes[1] = Math.max(canvas.height, 1);
        fbo.resize(fboRes[0], fboRes[1]);
      }
      regl.clear(clear);
      if (gamma === 1) { draw(); return; }
      fbo.use(() => { regl.clear(clear); draw(); });
      toCanvas();
    },
    resize() {}, // the canvas is the scatterplot's own: its width and height are set there
    onFrame(draw) { drawFns.add(draw); return () => drawFns.delete(draw); },
    refresh() { regl.poll(); },
    destroy() { destroyed = true; frame.cancel(); regl.destroy(); },
  };
}

// The spatial index (hover and click find points through it) of a big map is built after the first frame, in a
// worker: regl-scatterplot builds it inside draw(), before any point shows (~0.3 s of a million points' 0.5 s of
// JavaScript). draw() is handed an index in kdbush's serialised layout (regl-scatterplot's documented
// `draw(points, { spatialIndex })`: KDBush.from reads views over this very buffer) whose coordinates are NaN, so it
// finds nothing; the worker's index is then copied into the same buffer, and from then on hover and click find points.
// The layout and the kd-sort below are kdbush 4.0's (ISC, Vladimir Agafonkin), as regl-scatterplot bundles it.
// Self-contained (it also runs as a worker's source): the kd-sorted index of points x, y in kdbush's layout, or with
// x null, an index of n points that are all NaN (no query finds one).
function buildSpatialIndex(x, y, nodeSize, n = x.length) {
  const idBytes = n < 65536 ? 2 : 4;
  const coordsAt = 8 + n * idBytes + ((8 - ((n * idBytes) % 8)) % 8);
  const data = new ArrayBuffer(coordsAt + n * 8);
  new Uint8Array(data, 0, 2).set([0xdb, (1 << 4) + 7]); // kdbush format 1, Float32Array coordinates
  new Uint16Array(data, 2, 1)[0] = nodeSize;
  new Uint32Array(data, 4, 1)[0] = n;
  const ids = idBytes === 2 ? new Uint16Array(data, 8, n) : new Uint32Array(data, 8, n);
  const coords = new Float32Array(data, coordsAt, 2 * n);
  if (!x) { coords.fill(NaN); return data; }
  for (let i = 0; i < n; i++) { ids[i] = i; coords[2 * i] = x[i]; coords[2 * i + 1] = y[i]; }
  const swapItem = (i, j) => {
    const t = ids[i]; ids[i] = ids[j]; ids[j] = t;
    const a = 2 * i, b = 2 * j;
    const tx = coords[a], ty = coords[a + 1];
    coords[a] = coords[b]; coords[a + 1] = coords[b + 1]; coords[b] = tx; coords[b + 1] = ty;
  };
  const select = (k, left, right, axis) => { // Floyd-Rivest: the k-th smallest along axis at k
    while (right > left) {
      if (right - left > 600) {
        const m = right - left + 1, i = k - left + 1, z = Math.log(m), s = 0.5 * Math.exp((2 * z) / 3);
        const sd = 0.5 * Math.sqrt((z * s * (m - s)) / m) * (i - m / 2 < 0 ? -1 : 1);
        select(k, Math.max(left, Math.floor(k - (i * s) / m + sd)),
          Math.min(right, Math.floor(k + ((m - i) * s) / m + sd)), axis);
      }
      const t = coords[2 * k + axis];
      let i = left, j = right;
      swapItem(left, k);
      if (coords[2 * right + axis] > t) swapItem(left, right);
      while (i < j) {
        swapItem(i, j); i++; j--;
        while (coords[2 * i + axis] < t) i++;
        while (coords[2 * j + axis] > t) j--;
      }
      if (coords[2 * left + axis] === t) swapItem(left, j); else { j++; swapItem(j, right); }
      if (j <= k) left = j + 1;
      if (k <= j) right = j - 1;
    }
  };
  const sort = (left, right, axis) => {
    if (right - left <= nodeSize) return;
    const m = (left + right) >> 1;
    select(m, left, right, axis);
    sort(left, m - 1, 1 - axis);
    sort(m + 1, right, 1 - axis);
  };
  sort(0, n - 1, 0);
  return data;
}

// Build the index off the page's thread (on it where workers are not allowed) and copy it into `target`.
function fillSpatialIndex(x, y, nodeSize, target, done) {
  const fill = (data) => { new Uint8Array(target).set(new Uint8Array(data)); done(); };
  let worker = null;
  try {
    const src = `${buildSpatialIndex};onmessage=(e)=>{const d=${buildSpatialIndex.name}(e.data.x,e.data.y,e.data.s);`
      + 'postMessage(d,[d]);};';
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    worker = new Worker(url, { name: 'corpus-map-index' });
    URL.revokeObjectURL(url);
  } catch (e) { worker = null; }
  if (!worker) { setTimeout(() => fill(buildSpatialIndex(x, y, nodeSize)), 0); return; }
  worker.onmessage = (e) => { worker.terminate(); fill(e.data); };
  worker.onerror = () => { worker.terminate(); fill(buildSpatialIndex(x, y, nodeSize)); };
  worker.postMessage({ x, y, s: nodeSize });
}

function afterFrames(count, f) {
  if (count <= 0) f(); else requestAnimationFrame(() => afterFrames(count - 1, f));
}

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
    const Type = kind === 'i32' ? Int32Array : kind === 'u16' ? Uint16Array : Float32Array;
    sections[name] = new Type(bytes.slice(start + off, start + off + len * Type.BYTES_PER_ELEMENT).buffer);
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
  const png = el('button', 'cmap-btn', bar);
  png.type = 'button'; png.textContent = 'Save PNG'; png.dataset.action = 'png';
  png.title = 'Save the map as it looks now (points, labels, stars) as a PNG file';
  const hint = el('span', 'cmap-hint', bar);
  const canvasBox = el('div', 'cmap-canvas', root);
  const canvas = el('canvas', '', canvasBox);
  const overlay = el('canvas', 'cmap-overlay', canvasBox);
  const legend = el('div', 'cmap-legend', canvasBox);
  legend.setAttribute('data-testid', 'corpus-map-legend');
  const tip = el('div', 'cmap-tip', root);
  const note = el('div', 'cmap-note', root);
  return { root, bar, modes, reset, png, hint, canvasBox, canvas, overlay, legend, tip, note };
}

// regl-scatterplot always pans and zooms; box and lasso are drawn here (wireRegion), never by its own lasso, whose
// point-in-polygon test and redraw of every point ran before the selection could be sent.
function setMode(m, mode) {
  m.mode = mode;
  for (const [k, b] of Object.entries(m.dom.modes)) b.classList.toggle('cmap-on', k === mode);
  m.dom.canvasBox.classList.toggle('cmap-selecting', mode !== 'pan');
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
  const [left, top] = tipPlace(m.mouse, [tip.offsetWidth, tip.offsetHeight], visibleBox(m.dom.root));
  tip.style.left = `${left}px`;
  tip.style.top = `${top}px`;
}

// The part of the map's box the reader can see, in the box's own coordinates ([x0, y0, x1, y1], from its padding
// edge, where the tip's left and top count from): the box clips what passes its edges (overflow: hidden), the window
// what passes the screen's.
function visibleBox(root) {
  const r = root.getBoundingClientRect(), x = r.left + root.clientLeft, y = r.top + root.clientTop;
  return [Math.max(0, -x), Math.max(0, -y), Math.min(root.clientWidth, window.innerWidth - x),
    Math.min(root.clientHeight, window.innerHeight - y)];
}

// The tip's top-left corner: below and right of the mouse, or above / left of it where it would not fit there, and
// always inside the visible box (a tip larger than the box keeps its top-left corner in view).
function tipPlace([px, py], [w, h], [x0, y0, x1, y1]) {
  const along = (p, size, lo, hi) => {
    const at = p + TIP_GAP + size <= hi ? p + TIP_GAP : p - TIP_GAP - size;
    return Math.max(lo, Math.min(at, hi - size));
  };
  return [along(px, w, x0, x1), along(py, h, y0, y1)];
}

function hoverText(m, index) {
  if (m.texts) return m.texts[index] ?? '';
  if (m.hoverCache.has(index)) return m.hoverCache.get(index);
  return null;
}

// Data coordinates to canvas pixels: regl-scatterplot's projection (projectionLocal * view * model).
function project(m, x, y) {
  const v = m.view;
  if (!v) return null;
  const w = m.width, h = m.height;
  const px = (v[0] * x + v[4] * y + v[12]) / (w / h);
  const py = v[1] * x + v[5] * y + v[13];
  return [(w * (px + 1)) / 2, h * (0.5 - py / 2)];
}

// Canvas pixels to data coordinates: the inverse of project().
function unproject(m, sx, sy) {
  const v = m.view;
  const a = m.width / m.height;
  const bx = ((2 * sx) / m.width - 1) * a - v[12];
  const by = 1 - (2 * sy) / m.height - v[13];
  const det = v[0] * v[5] - v[4] * v[1];
  return [(bx * v[5] - v[4] * by) / det, (v[0] * by - v[1] * bx) / det];
}

// The part of the canvas an open legend leaves free, left of it ([x0, y0, x1, y1] in canvas pixels, less a margin);
// with the legend folded or absent, the whole canvas. The legend's width is the DOM's.
function freeBox(m) {
  const legend = m.dom.legend;
  let right = m.width;
  if (legend.offsetParent && legend.childElementCount && !legend.classList.contains('cmap-folded')) {
    right = Math.min(right, legend.getBoundingClientRect().left - m.dom.canvas.getBoundingClientRect().left);
  }
  return [FIT_MARGIN_PX, FIT_MARGIN_PX, right - FIT_MARGIN_PX, m.height - FIT_MARGIN_PX];
}

// The starting view (and Reset view's): the points' box centred in freeBox, at the scale a map always opened at (1:
// the points fill [-EXTENT, EXTENT] of the canvas's height, see core/viz/webgl_map.py) or smaller where they would not
// fit there. A view matrix as project() reads it: at scale 1 a data unit spans h / 2 canvas pixels.
function homeView(m) {
  const { x, y, n } = m.pts;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    if (x[i] < x0) x0 = x[i];
    if (x[i] > x1) x1 = x[i];
    if (y[i] < y0) y0 = y[i];
    if (y[i] > y1) y1 = y[i];
  }
  if (!(x0 <= x1 && y0 <= y1)) { x0 = x1 = 0; y0 = y1 = 0; }
  const [b0, c0, b1, c1] = freeBox(m);
  const half = m.height / 2;
  const s = Math.max(0.05, Math.min(1, (b1 - b0) / ((x1 - x0) * half), (c1 - c0) / ((y1 - y0) * half)));
  const ox = ((b0 + b1) / 2 - m.width / 2) / half - (s * (x0 + x1)) / 2;
  const oy = (half - (c0 + c1) / 2) / half - (s * (y0 + y1)) / 2;
  return new Float32Array([s, 0, 0, 0, 0, s, 0, 0, 0, 0, 1, 0, ox, oy, 0, 1]);
}

// The camera to homeView (no transition): before the first draw, the points are drawn there in their first frame.
function goHome(m) {
  if (!m.pts) { m.sp.reset(); return; }
  const view = homeView(m);
  m.homeScale = view[0];
  m.sp.view(view);
  m.view = m.sp.get('cameraView');
  queueOverlay(m);
}

function visibleCode(m, code) { return !m.hidden.has(code); }

// The labels of one zoom level that name points still shown, largest first. Every point hidden (the legend's
// None, whatever the colouring): none. With the legend on clusters, a hidden cluster's label goes; a coarse group's
// label (level 0, its clusters at index 6) goes when all its clusters are hidden, and when only some are, the
// labels of the clusters it still shows stand in for it (its phrase named the hidden ones too). A group label
// without its clusters (an older payload) is kept while any point is shown.
function labelsToDraw(m, all, level) {
  if (m.hidden.size && m.visible === 0) return [];
  const byCluster = !!m.legendClusters && m.hidden.size > 0;
  if (level === 1) return all.filter((l) => l[0] === 1 && (!byCluster || visibleCode(m, l[1])));
  const out = [];
  const standIns = new Set();
  for (const l of all) {
    if (l[0] !== 0) continue;
    const clusters = byCluster && Array.isArray(l[6]) ? l[6] : null;
    const shown = clusters ? clusters.filter((c) => visibleCode(m, c)) : null;
    if (!shown || shown.length === clusters.length) out.push(l);
    else for (const c of shown) standIns.add(c);
  }
  for (const l of all) if (l[0] === 1 && standIns.has(l[1])) out.push(l);
  return out.sort((a, b) => b[5] - a[5]);
}

// Labels of the current level (labelsToDraw), largest first, skipping any that would overlap one already placed; a
// label near an edge is moved inside the canvas (and left of the legend), never cut.
function drawLabels(m, ctx, w, h) {
  const all = m.header.labels || [];
  const scale = (m.view ? m.view[0] : 1) / (m.homeScale || 1);
  const hasCoarse = all.some((l) => l[0] === 0);
  const level = hasCoarse && scale < FINE_ZOOM ? 0 : 1;
  const right = w - (m.dom.legend.offsetParent && !m.dom.legend.classList.contains('cmap-folded')
    ? m.dom.legend.offsetWidth + 12 : 4);
  const placed = [];
  const shown = [];
  ctx.font = LABEL_FONT;
  ctx.textBaseline = 'middle';
  ctx.lineJoin = 'round';
  for (const [lvl, , text, x, y] of labelsToDraw(m, all, level)) {
    const p = project(m, x, y);
    if (!p || p[0] < 0 || p[0] > w || p[1] < 0 || p[1] > h) continue;
    const tw = ctx.measureText(text).width;
    const left = Math.max(4, Math.min(p[0] - tw / 2, right - tw));
    const top = Math.max(2, Math.min(p[1] - 9, h - 20));
    const box = [left - 3, top, left + tw + 3, top + 18];
    if (placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) continue;
    placed.push(box);
    ctx.lineWidth = 4;
    ctx.strokeStyle = 'rgba(255,255,255,0.92)';
    ctx.strokeText(text, left, top + 9);
    ctx.fillStyle = lvl === 0 ? '#1f2430' : '#343a40';
    ctx.fillText(text, left, top + 9);
    shown.push(text);
  }
  m.dom.root.setAttribute('data-label-level', level === 0 ? 'groups' : 'clusters');
  m.dom.root.setAttribute('data-labels', JSON.stringify(shown));
}

function drawStar(ctx, x, y, r) {
  ctx.beginPath();
  for (let k = 0; k < 10; k++) {
    const a = -Math.PI / 2 + (k * Math.PI) / 5;
    const rr = k % 2 ? r * 0.45 : r;
    ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
  }
  ctx.closePath();
  ctx.fill();
  ctx.stroke();
}

function drawMarks(m, ctx, w, h) {
  const pts = m.pts;
  if (!pts) return;
  ctx.lineWidth = 2;
  ctx.strokeStyle = RING;
  for (const i of m.marks) {
    const p = project(m, pts.x[i], pts.y[i]);
    if (!p || p[0] < -8 || p[0] > w + 8 || p[1] < -8 || p[1] > h + 8) continue;
    ctx.beginPath();
    ctx.arc(p[0], p[1], 6, 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.fillStyle = ACTIVE;
  ctx.strokeStyle = '#1f2430';
  ctx.lineWidth = 1;
  for (const i of (m.region && m.region.dots) || []) { // a box or lasso's points, when few (the server's answer)
    const p = project(m, pts.x[i], pts.y[i]);
    if (!p || p[0] < -4 || p[0] > w + 4 || p[1] < -4 || p[1] > h + 4) continue;
    ctx.beginPath();
    ctx.arc(p[0], p[1], 3, 0, 2 * Math.PI);
    ctx.fill();
  }
  for (const i of m.highlight) {
    const p = project(m, pts.x[i], pts.y[i]);
    if (!p || p[0] < -4 || p[0] > w + 4 || p[1] < -4 || p[1] > h + 4) continue;
    ctx.beginPath();
    ctx.arc(p[0], p[1], 3.5, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  }
  const hp = m.hovered !== null && m.hovered < pts.n ? project(m, pts.x[m.hovered], pts.y[m.hovered]) : null;
  if (hp) { // the hovered point, over the others: no WebGL frame
    ctx.fillStyle = HOVER;
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.arc(hp[0], hp[1], 4.5, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  }
  ctx.fillStyle = STAR;
  ctx.strokeStyle = '#5c3c00';
  for (const i of m.stars) {
    const p = project(m, pts.x[i], pts.y[i]);
    if (!p || p[0] < -8 || p[0] > w + 8 || p[1] < -8 || p[1] > h + 8) continue;
    drawStar(ctx, p[0], p[1], 7);
  }
}

function drawOverlay(m) {
  m.overlayQueued = false;
  const c = m.dom.overlay;
  const w = m.width, h = m.height;
  const dpr = window.devicePixelRatio || 1;
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
    c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
    c.style.width = `${w}px`; c.style.height = `${h}px`;
  }
  const ctx = c.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (!m.pts) return;
  drawRegion(m, ctx);
  drawMarks(m, ctx, w, h);
  drawLabels(m, ctx, w, h);
}

// The box or lasso being dragged (screen pixels), or the one selected (data coordinates, so it follows the camera).
function drawRegion(m, ctx) {
  let screen = null;
  if (m.drag && m.drag.moved) screen = dragPolygon(m.drag, m.drag.last);
  else if (m.region) {
    screen = [];
    for (let i = 0; i < m.region.poly.length; i += 2) screen.push(project(m, m.region.poly[i], m.region.poly[i + 1]));
  }
  if (!screen || screen.length < 2) return;
  ctx.beginPath();
  ctx.moveTo(screen[0][0], screen[0][1]);
  for (let i = 1; i < screen.length; i++) ctx.lineTo(screen[i][0], screen[i][1]);
  ctx.closePath();
  ctx.fillStyle = REGION_FILL;
  ctx.fill('nonzero');
  ctx.strokeStyle = REGION_LINE;
  ctx.lineWidth = 1.5;
  ctx.stroke();
}

function queueOverlay(m) {
  if (m.overlayQueued) return;
  m.overlayQueued = true;
  requestAnimationFrame(() => drawOverlay(m));
}

// The points whose codes are visible (all of them: no filter). With resend, the page is sent the selection left
// (resendSelection); not for a map just drawn, whose selection is not the user's yet.
function applyHidden(m, resend = true) {
  const pts = m.pts;
  if (!pts) return;
  const selected = m.sp.get('selectedPoints').length;
  if (!m.hidden.size) {
    m.sp.unfilter({ preventEvent: true });
    m.visible = pts.n;
  } else {
    const keep = [];
    for (let i = 0; i < pts.n; i++) if (!m.hidden.has(pts.z[i])) keep.push(i);
    m.sp.filter(keep, { preventEvent: true });
    m.visible = keep.length;
  }
  m.dom.root.setAttribute('data-visible', String(m.visible));
  m.dom.root.setAttribute('data-hidden', JSON.stringify(hiddenCodes(m)));
  if (resend) resendSelection(m, selected);
  queueOverlay(m);
}

function hiddenCodes(m) { return [...m.hidden].sort((a, b) => a - b); }

// After the legend hid or showed codes: the page is sent the selection the map now shows. regl-scatterplot's filter
// drops hidden points from its own selection without an event (preventEvent), so a clicked point whose code was
// hidden stayed selected on the page while the map showed nothing selected (and in Pan mode nothing could clear
// it): the points left are sent, or the deselect. A box or lasso is sent again with the codes now hidden, so the
// server tests its polygon against the points shown. A highlight's selection is the server's, not the user's.
function resendSelection(m, selectedBefore) {
  if (m.region) {
    const hidden = hiddenCodes(m);
    if (JSON.stringify(hidden) === JSON.stringify(m.region.hidden)) return;
    const seq = m.seq + 1;
    setRegion(m, { seq, poly: m.region.poly, hidden, count: null, dots: [] });
    sendSelection(m, { seq, n: m.n, v: m.version, enc: 'poly', poly: m.region.poly, hidden, zv: m.pts.zv });
    return;
  }
  if (m.highlightSelected || m.sent === 'none' || m.sent === 'poly') return;
  const left = m.sp.get('selectedPoints');
  if (left.length === selectedBefore) return;
  if (left.length) sendSelection(m, encodeSelection(left, m.n, m.seq + 1, m.version));
  else clearSelection(m);
}

function buildLegend(m, legend) {
  const box = m.dom.legend;
  box.replaceChildren();
  if (!legend || !legend.entries || !legend.entries.length) { box.style.display = 'none'; return; }
  box.style.display = '';
  const head = el('div', 'cmap-legend-head', box);
  const title = el('button', 'cmap-legend-title', head);
  title.type = 'button';
  title.textContent = legend.title ? `Colour: ${legend.title}` : 'Legend';
  title.title = 'Fold or unfold the legend';
  title.addEventListener('click', () => { box.classList.toggle('cmap-folded'); queueOverlay(m); });
  for (const [label, action] of [['All', 'all'], ['None', 'none']]) {
    const b = el('button', 'cmap-link', head);
    b.type = 'button'; b.textContent = label; b.dataset.action = action;
    b.title = action === 'all' ? 'Show every entry' : 'Hide every entry';
    b.addEventListener('click', () => {
      m.hidden = new Set(action === 'all' ? [] : legend.entries.map((e) => e[0]));
      for (const item of box.querySelectorAll('.cmap-entry')) item.classList.toggle('cmap-off', action === 'none');
      applyHidden(m);
    });
  }
  const list = el('div', 'cmap-legend-list', box);
  for (const [code, name, color, count] of legend.entries) {
    const item = el('button', 'cmap-entry', list);
    item.type = 'button';
    item.dataset.code = String(code);
    item.title = `${name}: ${count.toLocaleString()} points (click to hide or show)`;
    const sw = el('span', 'cmap-swatch', item);
    sw.style.background = color;
    el('span', 'cmap-entry-name', item).textContent = name; // text, never markup
    el('span', 'cmap-entry-count', item).textContent = count.toLocaleString();
    item.classList.toggle('cmap-off', m.hidden.has(code));
    item.addEventListener('click', () => {
      if (m.hidden.has(code)) m.hidden.delete(code); else m.hidden.add(code);
      item.classList.toggle('cmap-off', m.hidden.has(code));
      applyHidden(m);
    });
  }
}

// The points (regl-scatterplot copies each frame into this 2-D canvas) and the overlay, on white, as a PNG file.
function savePng(m) {
  const src = m.dom.canvas;
  const out = document.createElement('canvas');
  out.width = src.width; out.height = src.height;
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(src, 0, 0);
  ctx.drawImage(m.dom.overlay, 0, 0, out.width, out.height);
  const a = document.createElement('a');
  a.download = `${(m.header.png || 'corpus-map').replace(/[^A-Za-z0-9_.-]/g, '_')}.png`;
  a.href = out.toDataURL('image/png');
  a.click();
}

function wireEvents(m) {
  const { sp } = m;
  sp.subscribe('select', ({ points }) => {
    if (m.applyingHighlight) return;
    setRegion(m, null);
    sendSelection(m, encodeSelection(points, m.n, m.seq + 1, m.version));
  });
  sp.subscribe('deselect', () => {
    if (m.applyingHighlight) return;
    clearSelection(m);
  });
  // regl-scatterplot's own hover: only with hoverByScatterplot (benchmarks measure the old way with it)
  sp.subscribe('pointOver', (index) => setHovered(m, index));
  sp.subscribe('pointOut', () => setHovered(m, null));
  m.dom.canvasBox.addEventListener('mousemove', (e) => { m.mouse = mouseInRoot(m, e); });
  for (const [mode, b] of Object.entries(m.dom.modes)) b.addEventListener('click', () => setMode(m, mode));
  m.dom.reset.addEventListener('click', () => goHome(m));
  m.dom.png.addEventListener('click', () => savePng(m));
  new ResizeObserver(() => {
    const { width, height } = m.dom.canvasBox.getBoundingClientRect();
    // the first notice reports the size the map was created at: setting it again would draw every point twice more
    if (width > 0 && height > 0 && (width !== m.width || height !== m.height)) {
      sp.set({ width, height });
      m.width = width; m.height = height;
      queueOverlay(m);
    }
  }).observe(m.dom.canvasBox);
  sp.subscribe('view', ({ view }) => { m.view = view; queueOverlay(m); });
  guardWheel(m);
  wireRegion(m);
  wireHover(m);
}

function mouseInRoot(m, e) {
  const r = m.dom.root.getBoundingClientRect(); // from the padding edge, as the tip's left and top
  return [e.clientX - r.left - m.dom.root.clientLeft, e.clientY - r.top - m.dom.root.clientTop];
}

// The hovered point (null: none): ringed on the overlay, its text in the tip (asked of the page when not held).
function setHovered(m, index) {
  if (index === m.hovered) return;
  m.hovered = index;
  m.dom.root.setAttribute('data-hovered', index === null ? '' : String(index));
  queueOverlay(m);
  if (index === null) { showTip(m, null); return; }
  const text = hoverText(m, index);
  if (text !== null) { showTip(m, index, text); return; }
  showTip(m, index, '…');
  clearTimeout(m.hoverTimer);
  m.hoverTimer = setTimeout(() => { if (m.hovered === index) m.setStateValue('hover', index); }, HOVER_DELAY_MS);
}

// A mouse moving over the points with no button pressed is this module's: it never reaches regl-scatterplot, whose
// hover redraws every point (and sets them to be drawn again when the point is left), nor its camera, which only
// moves while a button is pressed. The nearest point comes from the spatial index (nearestPoint).
function wireHover(m) {
  const canvas = m.dom.canvas;
  m.onHoverMove = (e) => {
    if (m.hoverByScatterplot || e.buttons !== 0 || e.target !== canvas || !m.pts || !m.view) return;
    e.stopImmediatePropagation();
    // a pan (a button pressed) still hovers through regl-scatterplot: its point, drawn in the hover colour on every
    // frame, is let go (one frame, after a pan) so that only the overlay marks the hovered point
    if (m.sp.get('hoveredPoint') >= 0) m.sp.hover(-1, { preventEvent: true });
    m.mouse = mouseInRoot(m, e);
    const r = canvas.getBoundingClientRect();
    const i = nearestPoint(m, e.clientX - r.left, e.clientY - r.top);
    setHovered(m, i >= 0 ? i : null);
  };
  window.addEventListener('mousemove', m.onHoverMove, true);
  canvas.addEventListener('mouseleave', () => { if (!m.hoverByScatterplot) setHovered(m, null); });
}

function sendSelection(m, state) {
  m.seq = state.seq;
  m.sent = state.enc;
  m.setStateValue('selection', state);
}

function setRegion(m, region) {
  m.region = region;
  m.dom.root.setAttribute('data-selection', region ? 'region' : 'points');
  m.dom.root.removeAttribute('data-selected');
  queueOverlay(m);
}

// Nothing selected: the scatterplot's own selection (a click) and a box or lasso alike.
function clearSelection(m) {
  const had = m.region || m.sent !== 'none';
  setRegion(m, null);
  if (had) sendSelection(m, encodeSelection([], m.n, m.seq + 1, m.version));
}

function dragPolygon(drag, end) {
  if (drag.kind === 'lasso') return [...drag.screen, end];
  const [x0, y0] = drag.start;
  const [x1, y1] = end;
  return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
}

// The visible point nearest a click or the mouse (within NEAR_PX pixels), or -1: through the spatial index of a big
// map (none while it is built, as regl-scatterplot's hover and click find none then), by every point of a small one.
function nearestPoint(m, sx, sy) {
  const pts = m.pts;
  const [x, y] = unproject(m, sx, sy);
  const [x2] = unproject(m, sx + NEAR_PX, sy);
  const r = Math.abs(x2 - x);
  let best = -1;
  let bestD = r * r;
  const consider = (i) => {
    const dx = pts.x[i] - x, dy = pts.y[i] - y, d = dx * dx + dy * dy;
    if (d <= bestD && visibleCode(m, pts.z[i])) { bestD = d; best = i; }
  };
  if (m.index) indexRange(m.index, x - r, y - r, x + r, y + r, consider);
  else for (let i = 0; i < pts.n; i++) { const dx = pts.x[i] - x; if (dx * dx <= bestD) consider(i); }
  return best;
}

// Every point of a spatial index in kdbush's layout (buildSpatialIndex) inside [x0, x1] x [y0, y1], handed to `each`:
// kdbush 4.0's range search (ISC, Vladimir Agafonkin).
function indexRange(data, x0, y0, x1, y1, each) {
  const nodeSize = new Uint16Array(data, 2, 1)[0];
  const n = new Uint32Array(data, 4, 1)[0];
  const idBytes = n < 65536 ? 2 : 4;
  const ids = idBytes === 2 ? new Uint16Array(data, 8, n) : new Uint32Array(data, 8, n);
  const coords = new Float32Array(data, 8 + n * idBytes + ((8 - ((n * idBytes) % 8)) % 8), 2 * n);
  const inside = (k) => coords[2 * k] >= x0 && coords[2 * k] <= x1 && coords[2 * k + 1] >= y0 && coords[2 * k + 1] <= y1;
  const stack = [0, n - 1, 0];
  while (stack.length) {
    const axis = stack.pop(), right = stack.pop(), left = stack.pop();
    if (right - left <= nodeSize) {
      for (let k = left; k <= right; k++) if (inside(k)) each(ids[k]);
      continue;
    }
    const mid = (left + right) >> 1;
    if (inside(mid)) each(ids[mid]);
    const v = coords[2 * mid + axis];
    if ((axis === 0 ? x0 : y0) <= v) stack.push(left, mid - 1, 1 - axis);
    if ((axis === 0 ? x1 : y1) >= v) stack.push(mid + 1, right, 1 - axis);
  }
}

// Box and Lasso mode (and Shift+drag in Pan mode): the press never reaches regl-scatterplot (no camera move, no
// hover redraws); on release the polygon goes to the server at once and stays drawn as the selection.
function wireRegion(m) {
  const canvas = m.dom.canvas;
  m.dom.canvasBox.addEventListener('mousedown', (e) => {
    if (e.button !== 0 || e.target !== canvas || !m.pts || !m.view) return;
    if (m.mode === 'pan' && !e.shiftKey) return;
    e.stopPropagation();
    e.preventDefault();
    m.dom.root.focus({ preventScroll: true });
    const r = canvas.getBoundingClientRect();
    const at = (ev) => [ev.clientX - r.left, ev.clientY - r.top];
    const start = at(e);
    const drag = { kind: m.mode === 'box' ? 'box' : 'lasso', start, screen: [start], last: start, moved: false };
    m.drag = drag;
    const move = (ev) => {
      ev.stopPropagation();
      const p = at(ev);
      drag.last = p;
      if (!drag.moved && Math.hypot(p[0] - start[0], p[1] - start[1]) < DRAG_MIN_PX) return;
      drag.moved = true;
      const prev = drag.screen[drag.screen.length - 1];
      if (drag.kind === 'lasso' && drag.screen.length < MAX_LASSO_VERTICES - 1
        && Math.hypot(p[0] - prev[0], p[1] - prev[1]) >= LASSO_STEP_PX) drag.screen.push(p);
      queueOverlay(m);
    };
    const up = (ev) => {
      ev.stopPropagation();
      window.removeEventListener('mousemove', move, true);
      window.removeEventListener('mouseup', up, true);
      const eat = (c) => c.stopPropagation(); // the click that follows is this drag's, not regl-scatterplot's
      window.addEventListener('click', eat, { capture: true, once: true });
      setTimeout(() => window.removeEventListener('click', eat, { capture: true }), 100);
      m.drag = null;
      const end = at(ev);
      if (!drag.moved) {
        const i = nearestPoint(m, end[0], end[1]);
        if (i >= 0) m.sp.select([i]); else { m.sp.deselect({ preventEvent: true }); clearSelection(m); }
        return;
      }
      const poly = [];
      for (const [sx, sy] of dragPolygon(drag, end)) poly.push(...unproject(m, sx, sy));
      m.sp.deselect({ preventEvent: true });
      const hidden = hiddenCodes(m);
      setRegion(m, { seq: m.seq + 1, poly, hidden, count: null, dots: [] });
      sendSelection(m, { seq: m.seq + 1, n: m.n, v: m.version, enc: 'poly', poly, hidden, zv: m.pts.zv });
    };
    window.addEventListener('mousemove', move, true);
    window.addEventListener('mouseup', up, true);
  }, { capture: true });
  // Escape and a double click clear a box or lasso (regl-scatterplot clears its own selection)
  m.onKeyUp = (e) => { if (e.key === 'Escape' && m.region) clearSelection(m); };
  window.addEventListener('keyup', m.onKeyUp);
  canvas.addEventListener('dblclick', () => { if (m.region) clearSelection(m); });
}

// The point colours: as many active and hover colours as point colours, or regl-scatterplot reuses each point's own.
function colorOptions(header) {
  const colors = header.colors && header.colors.length ? header.colors : ['#3b5bdb'];
  return { colorBy: 'valueA', pointColor: colors, pointColorActive: colors.map(() => ACTIVE),
    pointColorHover: colors.map(() => HOVER) };
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
  const renderer = createDirectRenderer(dom.canvas);
  const sp = createScatterplot({
    renderer, canvas: dom.canvas, width: Math.max(width, 100), height: Math.max(height, 100),
    pointSize: 3, pointSizeSelected: 2, opacity: 0.85, lassoColor: [0.23, 0.36, 0.86, 1],
    backgroundColor: [1, 1, 1, 0], lassoInitiator: false, deselectOnDblClick: true,
    // events at once, not a few frames later (a frame of a million points takes ~0.7 s in software GL)
    syncEvents: true,
    // squares without alpha blending: cheaper frames for maps of many points (set once, at creation)
    performanceMode: (header.n || 0) >= PERFORMANCE_MODE_POINTS,
    deselectOnEscape: true, opacityInactiveScale: 0.5,
    // the spatial index (hover, click) on this thread: from a million points on, regl-scatterplot would build it in
    // a worker, posting it the points as a million small arrays: 1.5-3 s of structured cloning against 0.3-0.8 s
    spatialIndexUseWorker: false,
    // the first colours here, not by set(): set() asks for one more frame, which at a million points in software GL
    // drew every point a second time (~0.8 s) right after the first draw
    ...colorOptions(header),
  });
  const m = { dom, sp, renderer, header, version: null, n: 0, seq: 0, mouse: [0, 0], hovered: null, hoverTimer: 0,
    hoverCache: new Map(), hoverByScatterplot: false, highlightSig: null, applyingHighlight: false, pts: null, texts: null,
    colorsSig: JSON.stringify(header.colors || []), highlight: [], highlightSelected: false,
    view: sp.get('cameraView'), width: Math.max(width, 100), height: Math.max(height, 100), stars: [], marks: [],
    hidden: new Set(), visible: null, legendSig: null, codesSig: null, legendClusters: false, overlayQueued: false,
    region: null, drag: null, sent: 'none', ...api };
  // createScatterplot asks for a redraw on its next animation frame: the points are drawn after it, or that frame
  // would draw every point a second time (~0.8 s at a million points in software GL) right after the first draw
  m.initialized = new Promise((resolve) => { sp.subscribe('init', resolve, 1); });
  dom.root.__cmap = m; // benchmarks and tests reach the scatterplot through the element
  wireEvents(m);
  setMode(m, 'pan');
  return m;
}

function pointsFor(header, sections) {
  if (sections.x) {
    const pts = { x: sections.x, y: sections.y, z: sections.z, zv: header.zv, n: header.n, texts: header.texts || null };
    CACHE.set(header.v, pts);
    while (CACHE.size > 2) CACHE.delete(CACHE.keys().next().value);
    return pts;
  }
  const pts = CACHE.get(header.v) || null;
  if (pts && sections.z && sections.z.length === pts.n) { pts.z = sections.z; pts.zv = header.zv; }
  return pts && pts.zv === header.zv ? pts : null; // coloured otherwise, without the codes: asked for again
}

function askForPoints(m) { m.askedForPoints = true; m.setStateValue('have', null); }

// The same points, new colour codes (another "Colour by"): drawn again in place with the spatial index they have, the
// box or lasso and the clicked points kept (the points did not change, so neither did what is selected).
async function recolour(m, header, sections) {
  const pts = m.pts;
  if (!sections.z || sections.z.length !== pts.n) { askForPoints(m); return false; } // a payload was missed
  pts.z = sections.z;
  pts.zv = header.zv;
  m.hoverCache = new Map(); // a hover text names the coloured column first
  const selected = Array.from(m.sp.get('selectedPoints'));
  await m.sp.draw({ x: pts.x, y: pts.y, valueA: pts.z }, { zDataType: 'categorical', spatialIndex: m.index,
    preventFilterReset: true, select: selected.length ? selected : undefined });
  m.dom.root.setAttribute('data-codes', header.zv);
  if (m.askedForPoints) { m.askedForPoints = false; m.setStateValue('have', header.v); }
  return true;
}

async function applyHighlight(m, header, sections) {
  const sig = header.highlight_sig ?? null;
  if (sig === m.highlightSig) return;
  m.highlightSig = sig;
  if (sig === null) return; // no highlight asked: the user's own selection stays as it is
  const ids = sections.highlight || new Int32Array(0);
  m.applyingHighlight = true;
  try {
    if (ids.length && ids.length <= OVERLAY_HIGHLIGHT) { // drawn over the points: no WebGL frame at all
      m.highlight = ids;
      if (m.highlightSelected) m.sp.deselect({ preventEvent: true });
      m.highlightSelected = false;
    } else if (ids.length) { // many: the scatterplot's own selection (the others dim)
      m.highlight = [];
      if (m.region) setRegion(m, null);
      m.sp.select(Array.from(ids), { preventEvent: true });
      m.highlightSelected = true;
    } else { // empty: clear (a Clear button, a highlight taken away)
      m.highlight = [];
      m.sp.deselect({ preventEvent: true });
      m.highlightSelected = false;
    }
  } finally { m.applyingHighlight = false; }
  queueOverlay(m);
  m.dom.root.setAttribute('data-highlighted', String(sections.highlight ? sections.highlight.length : 0));
  m.dom.root.setAttribute('data-highlight-sig', String(sig));
}

// The legend of header.legend, built again when it changed (another colouring shows every code again).
function syncLegend(m, header) {
  const legend = header.legend || null;
  const legendSig = JSON.stringify(legend);
  if (legendSig !== m.legendSig) {
    const codesSig = legend ? JSON.stringify([legend.title, legend.entries.map((e) => e[0])]) : null;
    if (codesSig !== m.codesSig && m.hidden.size) { m.hidden = new Set(); applyHidden(m); } // another colouring
    m.codesSig = codesSig;
    m.legendSig = legendSig;
    m.legendClusters = !!(legend && legend.clusters);
    buildLegend(m, legend);
  }
}

async function update(m, header, sections) {
  m.header = header;
  m.dom.note.textContent = header.note || '';
  if (header.hover) m.hoverCache.set(header.hover.i, header.hover.text);
  if (m.hovered !== null && header.hover && header.hover.i === m.hovered) showTip(m, m.hovered, header.hover.text);
  const colorsSig = JSON.stringify(header.colors || []);
  if (colorsSig !== m.colorsSig) {
    m.colorsSig = colorsSig;
    m.sp.set(colorOptions(header));
  }
  if (m.version !== header.v) {
    const pts = pointsFor(header, sections);
    // this browser lost the points (mounted again after a page switch): ask for them, and say when they are drawn
    if (!pts) { askForPoints(m); return; }
    m.version = header.v;
    m.n = pts.n;
    m.pts = pts;
    m.texts = pts.texts;
    m.hoverCache = new Map();
    setHovered(m, null); // another map's point
    m.highlightSig = null;
    m.highlight = [];
    if (m.region) setRegion(m, null); // drawn on another map: the server selects nothing from it
    await m.initialized;
    if (!m.homeScale) { syncLegend(m, header); goHome(m); } // the first points: their view leaves the legend free
    const t0 = performance.now();
    performance.mark('cmap-draw-start');
    const index = pts.n >= DEFER_INDEX_POINTS ? buildSpatialIndex(null, null, INDEX_NODE_SIZE, pts.n) : undefined;
    m.index = index;
    m.dom.root.setAttribute('data-spatial-index', index ? 'building' : 'ready');
    await m.sp.draw({ x: pts.x, y: pts.y, valueA: pts.z }, { zDataType: 'categorical', spatialIndex: index });
    performance.mark('cmap-draw-end');
    if (index) { // once the first frame is on screen: the worker would take a core from the software renderer
      afterFrames(2, () => fillSpatialIndex(pts.x, pts.y, INDEX_NODE_SIZE, index, () => {
        performance.mark('cmap-index-ready');
        if (m.pts === pts) m.dom.root.setAttribute('data-spatial-index', 'ready');
      }));
    }
    if (m.hidden.size) applyHidden(m, false);
    m.dom.root.setAttribute('data-points', String(pts.n));
    m.dom.root.setAttribute('data-version', header.v);
    m.dom.root.setAttribute('data-codes', pts.zv || '');
    m.dom.root.setAttribute('data-draw-ms', String(Math.round(performance.now() - t0)));
    // Only an answer to that ask is reported: the server remembers what it sent, and a report after every first draw
    // is a rerun request that Streamlit folds with a page switch clicked meanwhile, keeping this map's page.
    if (m.askedForPoints) { m.askedForPoints = false; m.setStateValue('have', header.v); }
  } else if (header.zv !== m.pts.zv && !(await recolour(m, header, sections))) return;
  syncLegend(m, header);
  const sel = header.sel || null;
  if (m.region && sel && sel.seq === m.region.seq) { // the server's count of the box or lasso (and its points, if few)
    m.region.count = sel.n;
    m.region.dots = sections.selected ? Array.from(sections.selected) : [];
    m.dom.root.setAttribute('data-selected', String(sel.n));
  }
  m.stars = sections.stars ? Array.from(sections.stars) : [];
  m.marks = sections.marks ? Array.from(sections.marks) : [];
  m.dom.root.setAttribute('data-stars', String(m.stars.length));
  m.dom.root.setAttribute('data-marks', String(m.marks.length));
  queueOverlay(m);
  await applyHighlight(m, header, sections);
}

export default function corpusMap(component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  if (!data) return undefined;
  performance.mark('cmap-call');
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
      m.renderer.destroy(); // a renderer passed in is the caller's to destroy
      window.removeEventListener('keyup', m.onKeyUp);
      window.removeEventListener('mousemove', m.onHoverMove, true);
      m.dom.root.remove();
    }
  };
}
