// Reconciliation: open breaks by age and reason, each break's statement line and ledger posting side by side,
// and a match's two sides (GET /v1/recon/*, a key with the reconcile scope bound to no wallet).

import { api, badge, box, code, h, isUuid, link, page, section, table, when } from "/console/ui.js";
import { money } from "/console/money.js";

const AGES = [["lt_1d", "under a day"], ["1d_7d", "1 to 7 days"], ["gt_7d", "over a week"]];
const REASONS = ["statement_line_unmatched", "ledger_transaction_unmatched", "amount_differs", "date_outside_window", "duplicate"];

export async function reconPage(params) {
  const source = h("input", { id: "recon-source", name: "source", autocomplete: "off", value: params.get("source") || "" });
  const state = h(
    "select",
    { id: "recon-state", name: "state" },
    ["open", "explained", "resolved", ""].map((s) => h("option", { value: s, selected: (params.get("state") ?? "open") === s ? "" : undefined }, s || "any")),
  );
  const form = h(
    "form",
    { class: "row", onsubmit: (e) => { e.preventDefault(); location.hash = `#/recon?${new URLSearchParams({ source: source.value.trim(), state: state.value })}`; } },
    h("label", { for: "recon-source" }, "Source"), source,
    h("label", { for: "recon-state" }, "State"), state,
    h("button", { type: "submit" }, "Show"),
  );
  const [ageBox, ageBody] = box("see open breaks by age", "Open breaks by age and reason");
  const [listBox, listBody] = box("list breaks", "Breaks, oldest first");
  page("Reconciliation", form, ageBox, listBox);
  section(ageBody, byAge);
  section(listBody, () => breaks(source.value.trim(), state.value));
}

async function byAge() {
  const found = await api("/v1/recon/open_breaks");
  const counts = new Map();
  for (const c of found.counts || []) counts.set(`${c.reason}|${c.age}`, (counts.get(`${c.reason}|${c.age}`) || 0) + c.count);
  const rows = REASONS.map((reason) => [reason, ...AGES.map(([age]) => h("span", { class: `num ${age !== "lt_1d" && counts.get(`${reason}|${age}`) ? "bad" : ""}` }, String(counts.get(`${reason}|${age}`) || 0)))]);
  return table("Open breaks by reason and age", ["Reason", ...AGES.map(([, label]) => label)], rows);
}

function age(seconds) {
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

function lineSide(line) {
  if (!line) return h("span", { class: "empty" }, "not on the statement");
  return h("div", { class: "side" }, money(line.amount, line.currency, { signed: true }), " ", code(line.reference || "—"), " ", line.value_date, h("br"), h("small", {}, line.description || ""));
}

function postingSide(posting) {
  if (!posting) return h("span", { class: "empty" }, "not in the ledger");
  const ref = posting.metadata?.reference || posting.description || "";
  return h("div", { class: "side" }, money(posting.amount, posting.currency, { signed: true }), " ", code(ref || "—"), " ", when(posting.posted_at), h("br"), link(`#/tx/${posting.transaction_id}`, "transaction"));
}

async function breaks(source, state) {
  const query = new URLSearchParams({ limit: "100" });
  if (source) query.set("source", source);
  if (state) query.set("state", state);
  const found = await api(`/v1/recon/breaks?${query}`);
  const rows = (found.breaks || []).map((b) => [
    code(b.source),
    b.reason,
    badge(b.state),
    age(b.age_seconds),
    lineSide(b.line),
    postingSide(b.posting),
    b.detail || b.explanation || "",
    b.resolving_transaction_id ? link(`#/tx/${b.resolving_transaction_id}`, "adjustment") : (b.resolution || "—"),
  ]);
  return table("Breaks", ["Source", "Reason", "State", "Age", "Statement line", "Ledger posting", "Detail", "Resolution"], rows, { empty: "none.", cls: "breaks" });
}

export async function matchPage(id) {
  const [sidesBox, sidesBody] = box("see the match", "Both sides");
  page(`Match ${id.slice(0, 8)}`, sidesBox);
  if (!isUuid(id)) return sidesBody.replaceChildren(h("p", {}, "Not a match id."));
  section(sidesBody, async () => {
    const m = await api(`/v1/recon/matches/${id}`);
    const statement = table("Statement lines", ["Line", "Value date", "Amount", "Reference", "Description"], m.lines.map((l) => [String(l.line_no), l.value_date, money(l.amount, l.currency, { signed: true }), code(l.reference), l.description]));
    const ledger = table("Ledger postings", ["Posting", "Posted", "Amount", "Transaction"], m.postings.map((p) => [String(p.posting_id), when(p.posted_at), money(p.amount, p.currency, { signed: true }), link(`#/tx/${p.transaction_id}`, p.transaction_id.slice(0, 8))]));
    return [h("p", {}, `${m.kind.replaceAll("_", " ")} match of source `, code(m.source), `, difference ${m.difference}.`), h("div", { class: "sides" }, statement, ledger)];
  });
}
