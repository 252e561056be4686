// Hand-drawn SVG charts: a balance line over time and a Sankey-style flow between wallets.
// No library: every element is built with the DOM, every datum set as text or an attribute. Amounts are
// exact (BigInt minor units, written by money.js's formatMoney); only the geometry uses Numbers.

import { big, formatMoney, maxOf, minOf, sumOf } from "/console/money.js";

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

// An amount as SVG text: the same words and data attributes as money.js's elements.
function amountText(attrs, minor, currency, ...children) {
  return svg("text", { ...attrs, "data-money": String(minor), "data-currency": currency }, formatMoney(minor, currency), ...children);
}

const clip = (label) => (label.length > 24 ? `${label.slice(0, 23)}…` : label);

function shortTime(date) {
  return date.toISOString().replace("T", " ").slice(0, 19);
}

// points: [{t: Date, minor: number | string | BigInt}] oldest first. Returns an <svg> with a text alternative.
export function balanceChart(points, { currency, title }) {
  const width = 760, height = 220, left = 124, right = 16, top = 16, bottom = 40;
  const values = points.map((p) => big(p.minor));
  const lowest = minOf(values), highest = maxOf(values);
  const low = lowest < 0n ? lowest : 0n;
  const high = highest > low ? (highest > 0n ? highest : 0n) : low + 1n;
  const t0 = points[0].t.getTime(), t1 = points[points.length - 1].t.getTime();
  const span = t1 - t0 || 1;
  const x = (t) => left + ((t.getTime() - t0) / span) * (width - left - right);
  // Where a BigInt amount sits: the offset from low as a fraction of the span, in Numbers (a pixel's worth).
  const y = (v) => top + (1 - Number(big(v) - low) / Number(high - low)) * (height - top - bottom);
  // A step line: a balance holds its value until the next posting.
  let d = `M${x(points[0].t).toFixed(1)},${y(points[0].minor).toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    d += ` H${x(points[i].t).toFixed(1)} V${y(points[i].minor).toFixed(1)}`;
  }
  const first = points[0], last = points[points.length - 1];
  const description =
    `${title}: ${points.length} postings from ${shortTime(first.t)} to ${shortTime(last.t)}, ` +
    `balance ${formatMoney(first.minor, currency)} at first and ${formatMoney(last.minor, currency)} at last; ` +
    `lowest ${formatMoney(lowest, currency)}, highest ${formatMoney(highest, currency)}.`;
  const ticks = [low, (low + high) / 2n, high];
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
        amountText({ x: left - 6, y: y(v) + 4, "text-anchor": "end" }, v, currency),
      ),
    ),
    low < 0 ? svg("line", { x1: left, x2: width - right, y1: y(0), y2: y(0), class: "zero" }) : null,
    svg("text", { x: left, y: height - 12 }, shortTime(first.t)),
    svg("text", { x: width - right, y: height - 12, "text-anchor": "end" }, shortTime(last.t)),
    svg("path", { d, class: "line", fill: "none" }),
    points.map((p) =>
      svg(
        "circle",
        { cx: x(p.t).toFixed(1), cy: y(p.minor).toFixed(1), r: 3, class: "point" },
        svg("title", {}, `${shortTime(p.t)}: ${formatMoney(p.minor, currency)}`),
      ),
    ),
  );
}

// flows: [{source, sourceLabel, target, targetLabel, minor (exact), amount (Number, for the widths)}].
// Each wallet is labelled with its total and each band with its amount.
export function sankey(flows, { currency }) {
  const width = 860, nodeWidth = 14, gap = 26, top = 16, labelRoom = 230;
  const sources = new Map(), targets = new Map();
  for (const f of flows) {
    for (const [nodes, id, label] of [[sources, f.source, f.sourceLabel], [targets, f.target, f.targetLabel]]) {
      const node = nodes.get(id) ?? { label, total: 0, minor: 0n };
      node.total += f.amount;
      node.minor += big(f.minor);
      nodes.set(id, node);
    }
  }
  const total = flows.reduce((sum, f) => sum + f.amount, 0) || 1;
  const rows = Math.max(sources.size, targets.size);
  const height = Math.max(160, Math.min(640, 40 + rows * 56));
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
  const labels = [];
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
      const title = `${f.sourceLabel} → ${f.targetLabel}: ${formatMoney(f.minor, currency)}`;
      labels.push(amountText({ x: mid, y: ((ys + yt) / 2 + 4).toFixed(1), "text-anchor": "middle", class: "band-label" }, f.minor, currency));
      return svg("path", { d, class: "band", stroke: colour(f.source), "stroke-width": w.toFixed(1), fill: "none" }, svg("title", {}, title));
    });
  const nodes = [
    ...[...sources.entries()].map(([id, n]) => [
      svg("rect", { x: x0, y: n.y, width: nodeWidth, height: n.h, fill: colour(id), class: "node" }),
      svg("text", { x: x0 - 6, y: n.y + n.h / 2 - 3, "text-anchor": "end" }, clip(n.label), svg("title", {}, n.label)),
      amountText({ x: x0 - 6, y: n.y + n.h / 2 + 11, "text-anchor": "end", class: "node-total" }, n.minor, currency),
    ]),
    ...[...targets.values()].map((n) => [
      svg("rect", { x: x1, y: n.y, width: nodeWidth, height: n.h, class: "node target" }),
      svg("text", { x: x1 + nodeWidth + 6, y: n.y + n.h / 2 - 3 }, clip(n.label), svg("title", {}, n.label)),
      amountText({ x: x1 + nodeWidth + 6, y: n.y + n.h / 2 + 11, class: "node-total" }, n.minor, currency),
    ]),
  ];
  const description =
    `Money moved in ${currency}: ${formatMoney(sumOf(flows.map((f) => f.minor)), currency)} in ${flows.length} flows from ${sources.size} paying wallets (left) ` +
    `to ${targets.size} receiving wallets (right); the table below lists each.`;
  return svg(
    "svg",
    { class: "chart sankey", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": description },
    svg("title", {}, `Flows in ${currency}`),
    svg("desc", {}, description),
    bands,
    nodes,
    labels,
  );
}
