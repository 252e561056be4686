// Operations: outbox, audit, event log readers, dead letters (replay and purge by an admin key).

import { api, box, code, failure, h, lifecycle, notice, page, section, table, when } from "/console/ui.js";

// ---- operations ----

export async function opsPage() {
  const [summaryBox, summaryBody] = box("see the operations summary", "Outbox and audit");
  const [cmdBox, cmdBody] = box("list dead letters", "Dead commands");
  const [evBox, evBody] = box("list dead letters", "Dead events");
  const [logBox, logBody] = box("see the event log readers", "Event log readers");
  const status = h("div", { id: "ops-status", role: "status", "aria-live": "polite" });
  const source = h("select", { id: "by-id-source" }, h("option", { value: "commands" }, "command"), h("option", { value: "events" }, "event"));
  const letterId = h("input", { id: "by-id", required: true, autocomplete: "off" });
  const byId = h(
    "form",
    { class: "row", onsubmit: (e) => { e.preventDefault(); act("replay", source.value, letterId.value.trim()); } },
    h("label", { for: "by-id-source" }, "Source"), source,
    h("label", { for: "by-id" }, "Dead letter id"), letterId,
    h("button", { type: "submit" }, "Replay"),
    h("button", { type: "button", class: "danger", onclick: () => act("purge", source.value, letterId.value.trim()) }, "Purge"),
  );
  page(
    "Operations",
    status,
    summaryBox,
    logBox,
    cmdBox,
    evBox,
    h("section", {}, h("h2", {}, "Replay or purge by id"), h("p", { class: "hint" }, "An id from the lists above or from `ledger dlq list`. Only an admin key may act."), byId),
  );
  const refresh = () => {
    section(summaryBody, operationsSummary);
    section(logBody, logReaders);
    section(cmdBody, () => deadLetters("commands", 50, cmdBody));
    section(evBody, () => deadLetters("events", 50, evBody));
  };
  async function act(action, from, id) {
    if (!id) return;
    if (action === "purge" && !window.confirm(`Purge dead ${from === "commands" ? "command" : "event"} ${id}? It cannot be undone.`)) return;
    try {
      const path = `/v1/admin/dead_letters/${from}/${encodeURIComponent(id)}`;
      const result = action === "replay" ? await api(`${path}/replay`, { method: "POST" }) : await api(path, { method: "DELETE" });
      const what = result?.dead_letter?.routing_key_or_type ? ` (${result.dead_letter.routing_key_or_type})` : "";
      status.replaceChildren(notice("ok", `${action === "replay" ? "Replayed" : "Purged"} ${id}${what}.`));
      refresh();
    } catch (error) {
      status.replaceChildren(failure(error, `${action} dead letters`));
    }
  }
  opsActions = act;
  refresh();
  const timer = setInterval(() => {
    if (!summaryBody.isConnected) return clearInterval(timer);
    section(summaryBody, operationsSummary);
    section(logBody, logReaders);
  }, 10000);
  lifecycle.stop = () => clearInterval(timer);
}

let opsActions = () => {};

function age(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

async function operationsSummary() {
  const ops = await api("/v1/admin/operations");
  const outbox = ops.outbox || {}, dead = ops.dead_letters || {}, audit = ops.audit;
  const cards = h(
    "div",
    { class: "cards" },
    h("div", { class: "card" }, h("h3", {}, "Outbox backlog"), h("p", { class: "big" }, String(outbox.backlog ?? "—")), h("p", {}, `oldest unsent: ${age(outbox.oldest_age_seconds)}`)),
    h("div", { class: "card" }, h("h3", {}, "Dead letters"), h("p", { class: "big" }, String((dead.commands ?? 0) + (dead.events ?? 0)), dead.commands === null ? "+?" : ""), h("p", {}, `commands ${dead.commands ?? "unknown (broker not answering)"}, events ${dead.events ?? outbox.dead ?? "—"}`)),
    h(
      "div",
      { class: "card" },
      h("h3", {}, "Last ledger audit"),
      audit
        ? [h("p", { class: `big ${audit.ok ? "ok" : "bad"}` }, audit.ok ? "✓ clean" : "✗ findings"), h("p", {}, "ran ", when(audit.ran_at)), auditFindings(audit)]
        : h("p", {}, "No audit recorded yet: run `ledger audit`."),
    ),
  );
  return cards;
}

// Named readers of the event log (GET /v1/events?reader=, PUT /v1/readers/{name}) and how far behind each is.
async function logReaders() {
  const found = await api("/v1/admin/readers");
  const rows = (found.readers || []).map((r) => [
    code(r.name),
    r.transport,
    r.principal,
    h("span", { class: "num" }, String(r.position)),
    h("span", { class: `num ${r.behind_seconds > 600 ? "bad" : ""}` }, String(r.behind_events)),
    age(r.behind_seconds),
    when(r.updated_at),
  ]);
  return [
    h("p", {}, `The log's head is position ${found.head}. A reader over AMQP that falls further behind than the stream keeps stops with ReaderBehind.`),
    table("Event log readers", ["Reader", "Transport", "Key", "Position", "Behind (events)", "Behind (time)", "Last report"], rows, { empty: "no named readers." }),
  ];
}

function auditFindings(audit) {
  const parts = [h("p", {}, `${audit.findings ?? 0} finding(s) over ${audit.checks ?? "?"} checks, ${audit.postings ?? "?"} postings, ${audit.seconds !== undefined ? `${Number(audit.seconds).toFixed(1)} s` : ""}`)];
  const summary = Object.entries(audit.summary || {}).filter(([, n]) => n);
  if (summary.length) parts.push(h("ul", {}, summary.map(([check, n]) => h("li", {}, `${check}: ${n}`))));
  return parts;
}

async function deadLetters(source, limit, body) {
  const found = await api(`/v1/admin/dead_letters?${new URLSearchParams({ source, limit: String(limit) })}`);
  const letters = found.dead_letters || [];
  const rows = letters.map((d) => [
    code(d.id),
    d.reason,
    d.routing_key_or_type ?? d.routing_key ?? d.type,
    d.attempts,
    h("code", { class: "preview" }, String(d.body_preview ?? "").slice(0, 160)),
    when(d.dead_at),
    h(
      "div",
      { class: "row" },
      h("button", { type: "button", "data-replay": d.id, "aria-label": `Replay ${d.id}`, onclick: () => opsActions("replay", source, d.id) }, "Replay"),
      h("button", { type: "button", class: "danger", "aria-label": `Purge ${d.id}`, onclick: () => opsActions("purge", source, d.id) }, "Purge"),
    ),
  ]);
  const more = found.has_more || letters.length > limit
    ? h("button", { type: "button", onclick: () => section(body, () => deadLetters(source, limit + 50, body)) }, "Show more")
    : null;
  return [table(`Dead ${source}`, ["Id", "Reason", source === "commands" ? "Routing key" : "Type", "Attempts", "Body", "Dead since", "Actions"], rows, { empty: "none.", cls: "dead" }), more];
}

