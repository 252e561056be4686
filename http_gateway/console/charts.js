// Hand-drawn SVG charts: a balance line over time and a Sankey-style flow between wallets.
// No library: every element is built with the DOM, every datum set as text or an attribute.

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

const PALETTE = ["#1f5fa8", "#b3431a", "#2e7d32", "#6a3d9a", "#8a6d00", "#00838f", "#ad1457", "#4e5d6c"];

function money(minor, exponent) {
  return (minor / 10 ** exponent).toFixed(Math.min(exponent, 8));
}

const clip = (label) => (label.length > 24 ? `${label.slice(0, 23)}…` : label);

function shortTime(date) {
  return date.toISOString().replace("T", " ").slice(0, 19);
}

// points: [{t: Date, value: Number, label: String}] oldest first. Returns an <svg> with a text alternative.
export function balanceChart(points, { currency, title, exponent = 0 }) {
  const width = 760, height = 220, left = 84, right = 16, top = 16, bottom = 40;
  const values = points.map((p) => p.value);
  let low = Math.min(0, ...values), high = Math.max(0, ...values);
  if (low === high) high = low + 1;
  const t0 = points[0].t.getTime(), t1 = points[points.length - 1].t.getTime();
  const span = t1 - t0 || 1;
  const x = (t) => left + ((t.getTime() - t0) / span) * (width - left - right);
  const y = (v) => top + (1 - (v - low) / (high - low)) * (height - top - bottom);
  // A step line: a balance holds its value until the next posting.
  let d = `M${x(points[0].t).toFixed(1)},${y(points[0].value).toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    d += ` H${x(points[i].t).toFixed(1)} V${y(points[i].value).toFixed(1)}`;
  }
  const first = points[0], last = points[points.length - 1];
  const description =
    `${title}: ${points.length} postings from ${shortTime(first.t)} to ${shortTime(last.t)}, ` +
    `balance ${first.label} at first and ${last.label} at last; lowest ${money(Math.min(...values), exponent)}, ` +
    `highest ${money(Math.max(...values), exponent)} ${currency}.`;
  const ticks = [low, (low + high) / 2, high];
  return svg(
    "svg",
    {
      class: "chart balance-chart",
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": description,
      "data-points": points.length,
    },
    svg("title", {}, title),
    svg("desc", {}, description),
    ticks.map((v) =>
      svg(
        "g",
        { class: "tick" },
        svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid" }),
        svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, money(v, exponent)),
      ),
    ),
    low < 0 ? svg("line", { x1: left, x2: width - right, y1: y(0), y2: y(0), class: "zero" }) : null,
    svg("text", { x: left, y: height - 12 }, shortTime(first.t)),
    svg("text", { x: width - right, y: height - 12, "text-anchor": "end" }, shortTime(last.t)),
    svg("path", { d, class: "line", fill: "none" }),
    points.map((p) =>
      svg(
        "circle",
        { cx: x(p.t).toFixed(1), cy: y(p.value).toFixed(1), r: 3, class: "point" },
        svg("title", {}, `${shortTime(p.t)}: ${p.label}`),
      ),
    ),
  );
}

// flows: [{source, sourceLabel, target, targetLabel, amount (Number), label (String)}].
export function sankey(flows, { currency }) {
  const width = 760, nodeWidth = 14, gap = 10, top = 10, labelRoom = 190;
  const sources = new Map(), targets = new Map();
  for (const f of flows) {
    sources.set(f.source, { label: f.sourceLabel, total: (sources.get(f.source)?.total ?? 0) + f.amount });
    targets.set(f.target, { label: f.targetLabel, total: (targets.get(f.target)?.total ?? 0) + f.amount });
  }
  const total = flows.reduce((sum, f) => sum + f.amount, 0) || 1;
  const rows = Math.max(sources.size, targets.size);
  const height = Math.max(160, Math.min(560, 40 + rows * 46));
  const usable = height - top * 2 - gap * (rows - 1);
  const scale = usable / total;
  const place = (nodes) => {
    let at = top;
    for (const node of nodes.values()) {
      node.y = at;
      node.h = Math.max(2, node.total * scale);
      node.out = node.y;
      at += node.h + gap;
    }
  };
  place(sources);
  place(targets);
  const x0 = labelRoom, x1 = width - labelRoom;
  const order = [...sources.keys()];
  const colour = (id) => PALETTE[order.indexOf(id) % PALETTE.length];
  const bands = flows
    .slice()
    .sort((a, b) => order.indexOf(a.source) - order.indexOf(b.source))
    .map((f) => {
      const s = sources.get(f.source), t = targets.get(f.target);
      const w = Math.max(1, f.amount * scale);
      const ys = s.out + w / 2, yt = t.out + w / 2;
      s.out += w;
      t.out += w;
      const mid = (x0 + nodeWidth + x1) / 2;
      const d = `M${x0 + nodeWidth},${ys.toFixed(1)} C${mid},${ys.toFixed(1)} ${mid},${yt.toFixed(1)} ${x1},${yt.toFixed(1)}`;
      return svg(
        "path",
        { d, class: "band", stroke: colour(f.source), "stroke-width": w.toFixed(1), fill: "none" },
        svg("title", {}, `${f.sourceLabel} → ${f.targetLabel}: ${f.label} ${currency}`),
      );
    });
  const nodes = [
    ...[...sources.entries()].map(([id, n]) => [
      svg("rect", { x: x0, y: n.y, width: nodeWidth, height: n.h, fill: colour(id), class: "node" }),
      svg("text", { x: x0 - 6, y: n.y + n.h / 2 + 4, "text-anchor": "end" }, clip(n.label), svg("title", {}, n.label)),
    ]),
    ...[...targets.values()].map((n) => [
      svg("rect", { x: x1, y: n.y, width: nodeWidth, height: n.h, class: "node target" }),
      svg("text", { x: x1 + nodeWidth + 6, y: n.y + n.h / 2 + 4 }, clip(n.label), svg("title", {}, n.label)),
    ]),
  ];
  const description =
    `Money moved in ${currency}: ${flows.length} flows from ${sources.size} paying wallets (left) ` +
    `to ${targets.size} receiving wallets (right); the table below lists each.`;
  return svg(
    "svg",
    { class: "chart sankey", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": description },
    svg("title", {}, `Flows in ${currency}`),
    svg("desc", {}, description),
    bands,
    nodes,
  );
}
