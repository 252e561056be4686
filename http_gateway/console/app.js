// The operator console. Vanilla ES modules, no build step, nothing from another origin.
// The API key lives in this tab's sessionStorage (never a cookie: no other site can make the browser
// send it) and goes to the /v1 API as a bearer token; the API's scopes decide what each page shows.

import { balanceChart, sankey } from "/console/charts.js";

const KEY = "ledger-console-key";
const POLL_MS = 2000;
const main = document.getElementById("main");
let stopPage = () => {};

// ---- DOM helpers: data goes in as text, never as HTML ----

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  return node;
}

const link = (href, text) => h("a", { href }, text);
const code = (text) => h("code", {}, text ?? "—");
const when = (iso) => (iso ? h("time", { datetime: iso }, iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "Z")) : "—");
const badge = (status) => h("span", { class: `badge status-${String(status).replace(/[^a-z_]/g, "")}` }, status);

function dl(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]));
}

function table(caption, headers, rows, { empty = "Nothing here.", cls } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, `${caption}: ${empty}`);
  return h(
    "table",
    { class: cls },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c ?? "—"))))),
  );
}

function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  setTimeout(() => (region.textContent = text), 30);
}

function notice(kind, text) {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

// Big integers in JSON (beyond 2^53) are kept as their exact text, so hashes use the exact amounts.
function parseJSON(text) {
  return JSON.parse(text, (key, value, context) =>
    typeof value === "number" && !Number.isSafeInteger(value) && Number.isInteger(value) && context?.source
      ? context.source
      : value,
  );
}

// ---- the API ----

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || String(status);
  }
}

async function api(path, { method = "GET", body, headers = {} } = {}) {
  const key = sessionStorage.getItem(KEY);
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "omit", cache: "no-store" };
  if (key) init.headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const data = text ? parseJSON(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// What a refusal means, in words: the API's scopes and wallet binding are the console's.
function explain(error, doing) {
  if (!(error instanceof ApiError)) return `Could not ${doing}: ${error.message}`;
  const detail = error.problem.detail ? ` (${error.problem.detail})` : "";
  if (error.status === 401) return `This key is not accepted (unauthorized): log in again with a valid key.`;
  if (error.code === "wrong_wallet")
    return `This key may not ${doing}: it is bound to another wallet (403 wrong_wallet).`;
  if (error.status === 403) {
    const scope = error.problem.required_scope ? `: it needs the ${error.problem.required_scope} scope` : "";
    return `This key may not ${doing}${scope} (403 ${error.code})${detail}.`;
  }
  if (error.status === 404 && error.code === "not_found") return `Not available on this gateway: ${doing} (404).`;
  if (error.status === 404) return `Not found: ${error.code}${detail}.`;
  return `Could not ${doing}: ${error.status} ${error.code}${detail}.`;
}

function failure(error, doing) {
  if (error instanceof ApiError && error.status === 401) {
    sessionStorage.removeItem(KEY);
    setTimeout(() => (location.hash = "#/login"), 0);
  }
  return notice("error", explain(error, doing));
}

// ---- page frame ----

// Each page draws into a view of its own: what a slow answer for a page already left brings lands in a
// detached view and shows nowhere, and its polling stops (view.isConnected).
function page(title, ...content) {
  const heading = h("h1", { tabindex: "-1" }, title);
  const view = h("div", { class: "view" }, heading, ...content);
  main.replaceChildren(view);
  document.title = `${title} · Ledger console`;
  heading.focus({ preventScroll: false });
  return view;
}

async function section(container, loader) {
  container.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  try {
    const content = await loader();
    container.replaceChildren(...[content].flat().filter(Boolean));
  } catch (error) {
    container.replaceChildren(failure(error, container.dataset.doing || "load this"));
  }
}

function box(doing, heading) {
  const node = h("section", { "data-doing": doing, "aria-labelledby": undefined }, heading ? h("h2", {}, heading) : null);
  const body = h("div", { class: "section-body" });
  node.append(body);
  body.dataset.doing = doing;
  return [node, body];
}

const isUuid = (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

// ---- login ----

function loginPage() {
  const input = h("input", { id: "api-key", name: "api-key", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const form = h(
    "form",
    { class: "login", onsubmit: (e) => login(e, input) },
    h("label", { for: "api-key" }, "API key"),
    input,
    h("p", { class: "hint", id: "key-hint" }, "Kept in this browser tab only (sessionStorage), sent as a bearer token to the ledger API; never a cookie. Closing the tab or logging out forgets it."),
    h("button", { type: "submit" }, "Log in"),
  );
  input.setAttribute("aria-describedby", "key-hint");
  page("Log in", h("p", {}, "Paste an API key. A read key sees; only an admin key acts; a wallet-bound key sees its own wallet only."), form);
  input.focus();
}

async function login(event, input) {
  event.preventDefault();
  const key = input.value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY, key);
  try {
    await api("/v1/currencies");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      sessionStorage.removeItem(KEY);
      input.closest("form").append(notice("error", "This key is not accepted (401 unauthorized)."));
      return;
    }
  }
  input.value = "";
  location.hash = "#/search";
}

async function describeKey() {
  const key = sessionStorage.getItem(KEY) || "";
  const shown = /^lk_(live|test)_[0-9a-f]{12}/.exec(key)?.[0] ?? "a key";
  let bound = "";
  try {
    const me = await api("/v1/wallets/me");
    bound = ` · bound to ${me.handle || me.id}`;
    sessionStorage.setItem(`${KEY}:wallet`, me.handle || me.id);
  } catch {
    sessionStorage.removeItem(`${KEY}:wallet`);
  }
  document.getElementById("who-text").textContent = `Logged in with ${shown}…${bound}`;
}

// ---- search ----

async function searchPage(params) {
  const q = params.get("q") || "";
  const input = h("input", { id: "q", name: "q", type: "search", value: q, "aria-describedby": "q-hint" });
  const form = h(
    "form",
    { role: "search", onsubmit: (e) => { e.preventDefault(); location.hash = `#/search?q=${encodeURIComponent(input.value.trim())}`; } },
    h("label", { for: "q" }, "Wallet, account or object"),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, "Search")),
    h("p", { class: "hint", id: "q-hint" }, "@handle, ext:<external ref>, a wallet, account, transaction, hold or intent id, an owner id, or metadata as key=value (several: separated by spaces)."),
  );
  const mine = sessionStorage.getItem(`${KEY}:wallet`);
  const [results, body] = box("search wallets", "Results");
  page("Search", form, mine ? h("p", {}, "This key's wallet: ", link(`#/wallet/${encodeURIComponent(mine)}`, mine)) : null, results);
  if (!q) return body.replaceChildren(h("p", { class: "empty" }, "Type something to look for."));
  await section(body, () => runSearch(q, null, body));
}

function walletRows(wallets) {
  return wallets.map((w) => [
    link(`#/wallet/${encodeURIComponent(w.handle || w.id)}`, w.handle || w.id),
    w.owner_id,
    w.external_ref,
    badge(w.status),
    w.accounts.map((a) => `${a.available_decimal} ${a.currency}`).join(", ") || "—",
    Object.entries(w.metadata || {}).map(([k, v]) => `${k}=${v}`).join(" ") || "—",
  ]);
}

const WALLET_HEADERS = ["Wallet", "Owner", "External ref", "Status", "Available", "Metadata"];

async function runSearch(q, cursor, body) {
  if (q.startsWith("@") || q.startsWith("ext:")) {
    return table("Wallets found", WALLET_HEADERS, walletRows([await api(`/v1/wallets/${encodeURIComponent(q)}`)]));
  }
  if (isUuid(q)) {
    for (const [path, kind, route] of [
      ["wallets", "wallet", "wallet"],
      ["accounts", "account", null],
      ["transactions", "transaction", "tx"],
      ["holds", "hold", "hold"],
      ["payment_intents", "payment intent", "intent"],
    ]) {
      try {
        const found = await api(`/v1/${path}/${q}`);
        if (kind === "wallet") return table("Wallets found", WALLET_HEADERS, walletRows([found]));
        if (kind === "account")
          return h("p", {}, `Account ${q} (${found.currency}) of wallet `, link(`#/wallet/${found.wallet_id}`, found.wallet_id));
        return h("p", {}, `A ${kind}: `, link(`#/${route}/${q}`, q));
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
      }
    }
    return h("p", { class: "empty" }, "No wallet, account, transaction, hold or intent has this id (or this key may not see it).");
  }
  const query = new URLSearchParams();
  const words = q.split(/\s+/).filter(Boolean);
  for (const word of words) {
    const at = word.indexOf("=");
    if (at > 0) query.append(`metadata.${word.slice(0, at)}`, word.slice(at + 1));
    else if (word.startsWith("owner:")) query.set("owner_id", word.slice(6));
    else query.set("owner_id", word);
  }
  query.set("limit", "20");
  if (cursor) query.set("cursor", cursor);
  const found = await api(`/v1/wallets?${query}`);
  const more = found.next_cursor
    ? h("button", { type: "button", onclick: () => section(body, () => runSearch(q, found.next_cursor, body)) }, "Next page")
    : null;
  return [table("Wallets found", WALLET_HEADERS, walletRows(found.wallets), { empty: "no wallet matches." }), more];
}

// ---- wallet ----

function limitsText(l) {
  const parts = [];
  if (l.min_balance_decimal !== null) parts.push(`min balance ${l.min_balance_decimal}`);
  if (l.max_per_transaction_decimal !== null) parts.push(`max ${l.max_per_transaction_decimal} per transaction`);
  if (l.daily_debit_amount_decimal !== null) parts.push(`${l.daily_debit_amount_decimal} a day`);
  if (l.daily_debit_count !== null) parts.push(`${l.daily_debit_count} debits a day`);
  return parts.join("; ") || "none";
}

async function walletPage(ref) {
  const view = page(`Wallet ${ref}`);
  let wallet;
  try {
    wallet = await api(`/v1/wallets/${encodeURIComponent(ref)}`);
  } catch (error) {
    view.append(failure(error, "read this wallet"));
    return;
  }
  if (!view.isConnected) return;
  const reason = h("span", { id: "frozen-reason" });
  const status = wallet.status === "frozen"
    ? [badge("frozen"), wallet.allow_credits ? " credits still allowed. " : " credits refused too. ", reason]
    : badge(wallet.status);
  view.append(
    h(
      "div",
      { class: "wallet-head" },
      h(
        "div",
        {},
        dl([
          ["Id", code(wallet.id)],
          ["Handle", wallet.handle],
          ["Owner", wallet.owner_id],
          ["Kind", wallet.kind],
          ["External ref", wallet.external_ref],
          ["Status", status],
          ["Metadata", Object.entries(wallet.metadata).map(([k, v]) => `${k}=${v}`).join(", ") || "none"],
          ["Created", when(wallet.created_at)],
        ]),
      ),
      table(
        "Balances",
        ["Currency", "Posted", "Held", "Available", "Status", "Limits"],
        wallet.accounts.map((a) => [
          h("abbr", { title: `account ${a.id}` }, a.currency),
          h("span", { class: "num" }, a.balance_decimal),
          h("span", { class: "num" }, a.held_decimal),
          h("strong", { class: "num" }, a.available_decimal),
          badge(a.status),
          limitsText(a.limits),
        ]),
        { cls: "balances" },
      ),
    ),
  );
  const [chartBox, chartBody] = box("read this account's history", "Balance over time");
  const [txBox, txBody] = box("read this wallet's transactions", "Transactions");
  const [holdBox, holdBody] = box("read this wallet's holds and intents", "Holds and payment intents");
  const [eventBox, eventBody] = box("read this wallet's events", "Events (live)");
  view.append(chartBox, txBox, holdBox, eventBox);
  const accounts = wallet.accounts;
  if (accounts.length) {
    const select = h("select", { id: "chart-account" }, accounts.map((a) => h("option", { value: a.id }, `${a.currency} (${a.id.slice(0, 8)}…)`)));
    const holder = h("div", { class: "chart-holder" });
    const at = h("input", { id: "balance-at", type: "datetime-local", step: "1" });
    const atResult = h("output", { for: "balance-at", id: "balance-at-result" });
    const draw = () => section(holder, () => accountChart(accounts.find((a) => a.id === select.value)));
    select.addEventListener("change", draw);
    chartBody.parentElement.insertBefore(
      h(
        "div",
        { class: "row controls" },
        h("label", { for: "chart-account" }, "Account"),
        select,
        h(
          "form",
          { class: "row", onsubmit: (e) => balanceAt(e, select.value, at.value, atResult) },
          h("label", { for: "balance-at" }, "Balance at (UTC)"),
          at,
          h("button", { type: "submit" }, "Show"),
          atResult,
        ),
      ),
      chartBody,
    );
    chartBody.replaceChildren(holder);
    draw();
  } else chartBody.replaceChildren(h("p", { class: "empty" }, "This wallet has no account."));
  section(txBody, () => transactionList(wallet.id, null, txBody));
  startEvents(wallet, eventBody, holdBody, reason);
}

async function balanceAt(event, accountId, value, output) {
  event.preventDefault();
  try {
    const query = value ? `?at=${encodeURIComponent(new Date(`${value}Z`).toISOString())}` : "";
    const b = await api(`/v1/accounts/${accountId}/balance${query}`);
    output.textContent = `${b.balance_decimal} ${b.currency} posted${b.posted_at ? ` (last posting ${b.posted_at})` : " (no posting yet)"}`;
  } catch (error) {
    output.textContent = explain(error, "read this balance");
  }
}

const CHART_POINTS = 200;

async function accountChart(account) {
  let entries = [], cursor = null, complete = false;
  while (entries.length < CHART_POINTS) {
    const pageQuery = new URLSearchParams({ limit: String(Math.min(200, CHART_POINTS - entries.length)) });
    if (cursor) pageQuery.set("cursor", cursor);
    const found = await api(`/v1/accounts/${account.id}/entries?${pageQuery}`);
    entries = entries.concat(found.entries);
    cursor = found.next_cursor;
    if (!cursor) { complete = true; break; }
  }
  if (!entries.length) return h("p", { class: "empty" }, `No posting on the ${account.currency} account yet.`);
  const oldest = entries[entries.length - 1];
  const points = entries.slice().reverse().map((e) => ({ t: new Date(e.created_at), value: Number(e.balance_after), label: `${e.balance_after_decimal} ${e.currency}` }));
  if (complete) points.unshift({ t: new Date(oldest.created_at), value: 0, label: `0 ${oldest.currency}` });
  const title = `Balance of the ${account.currency} account, ${complete ? "every posting" : `last ${entries.length} postings`}`;
  const rows = entries.map((e) => [when(e.created_at), e.type, h("span", { class: "num" }, e.amount_decimal), h("span", { class: "num" }, e.balance_after_decimal), link(`#/tx/${e.transaction_id}`, e.transaction_id.slice(0, 8) + "…")]);
  return [
    balanceChart(points, { currency: account.currency, title, exponent: (oldest.balance_after_decimal.split(".")[1] || "").length }),
    h("details", {}, h("summary", {}, "Show the chart's data as a table"), table(title, ["When", "Type", "Amount", "Balance after", "Transaction"], rows)),
  ];
}

async function transactionList(walletId, cursor, body) {
  const query = new URLSearchParams({ limit: "15" });
  if (cursor) query.set("cursor", cursor);
  const found = await api(`/v1/wallets/${walletId}/transactions?${query}`);
  const rows = found.entries.map((e) => [
    when(e.created_at),
    link(`#/tx/${e.transaction_id}`, `${e.type} ${e.transaction_id.slice(0, 8)}…`),
    e.currency,
    h("span", { class: `num ${e.amount < 0 ? "debit" : "credit"}` }, e.amount_decimal),
    h("span", { class: "num" }, e.balance_after_decimal),
    e.description,
  ]);
  const nav = h(
    "div",
    { class: "row pager" },
    cursor ? h("button", { type: "button", onclick: () => section(body, () => transactionList(walletId, null, body)) }, "Newest") : null,
    found.next_cursor ? h("button", { type: "button", onclick: () => section(body, () => transactionList(walletId, found.next_cursor, body)) }, "Older") : null,
  );
  return [table("Postings of this wallet, newest first", ["When", "Transaction", "Currency", "Amount", "Balance after", "Description"], rows, { empty: "no posting yet.", cls: "transactions" }), nav];
}

function eventSummary(e) {
  const p = e.payload || {};
  if (e.type === "account.credited" || e.type === "account.debited")
    return [`${e.type === "account.debited" ? "−" : "+"}${p.amount} ${p.currency} (${p.command_type}) → balance ${p.balance_after} `, link(`#/tx/${p.transaction_id}`, "transaction")];
  if (e.type.startsWith("hold.")) return [`hold ${p.status}: ${p.amount} ${p.currency} `, link(`#/hold/${p.hold_id}`, "hold")];
  if (e.type.startsWith("intent.")) return [`intent ${p.status}: ${p.amount} ${p.currency} `, link(`#/intent/${p.intent_id}`, "intent")];
  if (e.type === "wallet.frozen") return `frozen${p.reason ? `: ${p.reason}` : ""}${p.allow_credits ? " (credits allowed)" : ""}`;
  if (e.type === "command.refused") return `${p.command_type} refused: ${p.refusal}`;
  return Object.entries(p).slice(0, 4).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
}

function eventRow(e) {
  return h("tr", { "data-event": e.event_id }, h("td", {}, when(e.occurred_at)), h("td", {}, code(e.type)), h("td", {}, e.sequence ?? "—"), h("td", {}, eventSummary(e)), h("td", {}, e.principal ?? "—"));
}

const EVENTS_SHOWN = 30;

function startEvents(wallet, body, holdBody, reason) {
  const events = [];
  let cursor = null, running = true, paused = false, timer = null, shown = EVENTS_SHOWN;
  const tbody = h("tbody", { id: "events-body" });
  const pause = h("button", { type: "button", "aria-pressed": "false" }, "Pause live updates");
  const more = h("button", { type: "button", hidden: true }, "Show older events");
  const state = h("p", { class: "hint", id: "events-state" }, "New events appear here without a reload (checked every 2 s).");
  const list = h(
    "table",
    { class: "events" },
    h("caption", {}, "Events of this wallet and its accounts, newest first"),
    h("thead", {}, h("tr", {}, ["When", "Type", "Seq", "What", "Principal"].map((x) => h("th", { scope: "col" }, x)))),
    tbody,
  );
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume live updates" : "Pause live updates";
  });
  more.addEventListener("click", () => { shown += EVENTS_SHOWN; render(); });
  body.replaceChildren(h("div", { class: "row" }, pause, state), list, more);
  const render = () => {
    tbody.replaceChildren(...events.slice(-shown).reverse().map(eventRow));
    more.hidden = events.length <= shown;
    renderHolds(events, holdBody);
    const frozen = events.findLast((e) => e.type === "wallet.frozen");
    if (frozen && wallet.status === "frozen") {
      reason.textContent = `Reason: ${frozen.payload.reason || "none given"} (${frozen.principal || "?"}, ${frozen.occurred_at.slice(0, 19)}Z)`;
    }
  };
  const fetchNew = async (first) => {
    let fresh = 0;
    for (let pages = 0; pages < (first ? 40 : 5); pages++) {
      const query = new URLSearchParams({ limit: "500" });
      if (cursor) query.set("after", cursor);
      const found = await api(`/v1/wallets/${wallet.id}/events?${query}`);
      cursor = found.next_cursor;
      events.push(...found.events);
      fresh += found.events.length;
      if (!found.has_more) break;
    }
    if (fresh || first) render();
    if (fresh && !first) announce(`${fresh} new event${fresh > 1 ? "s" : ""} for this wallet`);
  };
  const loop = async (first) => {
    if (!running || !body.isConnected) return;
    if (!paused || first) {
      try {
        await fetchNew(first);
        state.textContent = "New events appear here without a reload (checked every 2 s).";
      } catch (error) {
        if (first) { body.replaceChildren(failure(error, "read this wallet's events")); holdBody.replaceChildren(); return; }
        state.textContent = explain(error, "read new events");
      }
    }
    if (running) timer = setTimeout(() => loop(false), POLL_MS);
  };
  loop(true);
  const previous = stopPage;
  stopPage = () => { running = false; clearTimeout(timer); previous(); };
}

function renderHolds(events, body) {
  const holds = new Map(), intents = new Map();
  for (const e of events) {
    if (e.type.startsWith("hold.")) holds.set(e.payload.hold_id, e);
    if (e.type.startsWith("intent.")) intents.set(e.payload.intent_id, e);
  }
  const rows = [
    ...[...holds.values()].map((e) => [link(`#/hold/${e.payload.hold_id}`, `hold ${e.payload.hold_id.slice(0, 8)}…`), badge(e.payload.status), `${e.payload.amount} ${e.payload.currency}`, `${e.payload.captured_amount}`, when(e.occurred_at)]),
    ...[...intents.values()].map((e) => [link(`#/intent/${e.payload.intent_id}`, `intent ${e.payload.intent_id.slice(0, 8)}…`), badge(e.payload.status), `${e.payload.amount} ${e.payload.currency}`, `${e.payload.paid_amount}`, when(e.occurred_at)]),
  ].reverse();
  body.replaceChildren(table("Holds and intents seen in this wallet's events (minor units), latest first", ["Object", "State", "Amount", "Captured / paid", "Last change"], rows, { empty: "none." }));
}

// ---- transaction ----

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// Exact microseconds since the epoch from an ISO 8601 instant with up to 6 fractional digits.
function epochMicros(iso) {
  const m = /^(.+T\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) throw new Error(`unexpected instant ${iso}`);
  const seconds = BigInt(Date.parse(`${m[1]}${m[3]}`)) / 1000n;
  return seconds * 1000000n + BigInt((m[2] || "").padEnd(6, "0"));
}

// contracts/chain.py: sha256(previous_hash || "<account>|<transaction>|<command type>|<currency>|<signed amount>|<balance_after>|<µs>").
async function checkEntryHash(event) {
  const p = event.payload;
  const signed = event.type === "account.debited" ? `-${p.amount}` : `${p.amount}`;
  const text = `${event.account_id}|${p.transaction_id}|${p.command_type}|${p.currency}|${signed}|${p.balance_after}|${epochMicros(event.occurred_at)}`;
  const previous = hexToBytes(p.previous_hash);
  const encoded = new TextEncoder().encode(text);
  const joined = new Uint8Array(previous.length + encoded.length);
  joined.set(previous);
  joined.set(encoded, previous.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  return hex === p.entry_hash;
}

async function transactionEvents(tx) {
  // The account.credited/debited events of this transaction, from each posting's wallet stream.
  const found = [], refused = [], partial = [];
  for (const walletId of new Set(tx.postings.map((p) => p.wallet_id))) {
    let cursor = null;
    try {
      for (let pages = 0; ; pages++) {
        if (pages === 40) { partial.push(walletId); break; }  // 20,000 events read: a busy (system) wallet
        const query = new URLSearchParams({ limit: "500" });
        if (cursor) query.set("after", cursor);
        const pageOf = await api(`/v1/wallets/${walletId}/events?${query}`);
        found.push(...pageOf.events.filter((e) => e.command_id === tx.command_id || e.payload?.transaction_id === tx.id));
        cursor = pageOf.next_cursor;
        if (!pageOf.has_more) break;
      }
    } catch (error) {
      refused.push([walletId, error]);
    }
  }
  return { found, refused, partial };
}

async function transactionPage(id) {
  const view = page(`Transaction ${id.slice(0, 8)}…`);
  let tx;
  try {
    tx = await api(`/v1/transactions/${encodeURIComponent(id)}`);
  } catch (error) {
    view.append(failure(error, "read this transaction"));
    return;
  }
  const debits = tx.postings.filter((p) => p.amount < 0), credits = tx.postings.filter((p) => p.amount > 0);
  // Each wallet by its handle where this key may read it (a bound key sees the others by id only).
  const names = new Map();
  await Promise.all([...new Set(tx.postings.map((p) => p.wallet_id))].map(async (w) => {
    try {
      const found = await api(`/v1/wallets/${w}`);
      names.set(w, found.handle || found.external_ref || found.owner_id);
    } catch {
      names.set(w, `${w.slice(0, 8)}…`);
    }
  }));
  if (!view.isConnected) return;
  const side = (caption, postings) =>
    table(caption, ["Wallet", "Account", "Amount", "Balance after"], postings.map((p) => [
      link(`#/wallet/${p.wallet_id}`, names.get(p.wallet_id)),
      code(p.account_id),
      h("span", { class: "num" }, p.amount_decimal.replace(/^-/, "")),
      p.balance_after_decimal === null ? h("span", { class: "hint" }, "not shown to this key") : h("span", { class: "num" }, p.balance_after_decimal),
    ]), { empty: "none.", cls: "side" });
  const sum = tx.postings.reduce((s, p) => s + BigInt(p.amount), 0n);
  const links = [
    tx.reverses_id && ["Reverses", link(`#/tx/${tx.reverses_id}`, tx.reverses_id)],
    tx.reversed_by_id && ["Reversed by", link(`#/tx/${tx.reversed_by_id}`, tx.reversed_by_id)],
    tx.hold_id && ["Hold", link(`#/hold/${tx.hold_id}`, tx.hold_id)],
    tx.intent_id && ["Payment intent", link(`#/intent/${tx.intent_id}`, tx.intent_id)],
  ];
  view.append(
    dl([
      ["Id", code(tx.id)],
      ["Type", tx.type],
      ["Command", code(tx.command_id)],
      ["Principal", tx.principal ?? "not shown to this key"],
      ["Amount", tx.amount_decimal ? `${tx.amount_decimal} ${tx.currency}` : "multi-leg"],
      ["Description", tx.description],
      ["Metadata", Object.entries(tx.metadata).map(([k, v]) => `${k}=${v}`).join(", ") || "none"],
      ["Posted", when(tx.created_at)],
      ...links,
    ]),
    h("h2", {}, "Postings"),
    h("div", { class: "two-sides" }, side("Debits (money out)", debits), side("Credits (money in)", credits)),
    h("p", { class: sum === 0n ? "ok" : "bad" }, sum === 0n ? "✓ Balanced: debits equal credits." : `✗ Not balanced: the postings sum to ${sum}.`),
  );
  const [eventsBox, eventsBody] = box("read this transaction's events", "Events and hash chain");
  view.append(eventsBox);
  section(eventsBody, async () => {
    const { found, refused, partial } = await transactionEvents(tx);
    const rows = [];
    let verified = 0, broken = 0;
    for (const e of found) {
      let check = "—";
      if (e.payload?.entry_hash) {
        const ok = await checkEntryHash(e);
        ok ? verified++ : broken++;
        check = h("span", { class: ok ? "ok" : "bad", "data-hash-check": ok ? "ok" : "broken" }, ok ? "✓ entry hash recomputed" : "✗ entry hash does not match");
      }
      rows.push([when(e.occurred_at), code(e.type), e.account_id ? code(e.account_id) : "—", e.sequence ?? "—", e.principal ?? "—", check]);
    }
    const summary = found.length
      ? h("p", { class: broken ? "bad" : "ok", id: "chain-summary" }, broken ? `✗ ${broken} posting(s) do not chain.` : `✓ ${verified} posting hash(es) recomputed from their events with SHA-256: the chain holds here.`)
      : null;
    return [
      summary,
      table("Events of this transaction", ["When", "Type", "Account", "Seq", "Principal", "Hash chain"], rows, { empty: "none found yet (the relay may still be publishing)." }),
      refused.map(([w, error]) => notice("info", `Wallet ${w.slice(0, 8)}…: ${explain(error, "read this wallet's events")}`)),
      partial.map((w) => notice("info", `Wallet ${w.slice(0, 8)}…: only its first 20,000 events were searched for this transaction's.`)),
    ];
  });
}

// ---- holds and intents ----

async function holdPage(id) {
  const view = page(`Hold ${id.slice(0, 8)}…`);
  try {
    const hold = await api(`/v1/holds/${encodeURIComponent(id)}`);
    view.append(dl([
      ["Id", code(hold.id)],
      ["State", badge(hold.status)],
      ["Wallet", link(`#/wallet/${hold.wallet_id}`, hold.wallet_id)],
      ["Account", code(hold.account_id)],
      ["Amount", `${hold.amount_decimal} ${hold.currency}`],
      ["Captured", `${hold.captured_amount_decimal} ${hold.currency}`],
      ["Recipient account", hold.recipient_account_id ? code(hold.recipient_account_id) : "named at capture"],
      ["Expires", when(hold.expires_at)],
      ["Payment intent", hold.intent_id ? link(`#/intent/${hold.intent_id}`, hold.intent_id) : "—"],
      ["Transaction", hold.transaction_id ? link(`#/tx/${hold.transaction_id}`, hold.transaction_id) : "not captured"],
      ["Description", hold.description],
      ["Created", when(hold.created_at)],
      ["Finished", when(hold.finished_at)],
    ]));
  } catch (error) {
    view.append(failure(error, "read this hold"));
  }
}

async function intentPage(id) {
  const view = page(`Payment intent ${id.slice(0, 8)}…`);
  try {
    const it = await api(`/v1/payment_intents/${encodeURIComponent(id)}`);
    view.append(dl([
      ["Id", code(it.id)],
      ["State", badge(it.status)],
      ["Merchant account", code(it.merchant_account_id)],
      ["Amount", `${it.amount_decimal} ${it.currency}`],
      ["Paid", `${it.paid_amount_decimal} ${it.currency}`],
      ["Refunded", `${it.refunded_amount_decimal} ${it.currency}`],
      ["Payer account", it.payer_account_id ? code(it.payer_account_id) : "not paid yet"],
      ["Hold", it.hold_id ? link(`#/hold/${it.hold_id}`, it.hold_id) : "—"],
      ["Expires", when(it.expires_at)],
      ["Description", it.description],
      ["Created", when(it.created_at)],
      ["Updated", when(it.updated_at)],
    ]));
  } catch (error) {
    view.append(failure(error, "read this payment intent"));
  }
}

// ---- flows ----

const isoDay = (d) => d.toISOString().slice(0, 10);

async function flowsPage(params) {
  const now = new Date();
  const from = params.get("from") || isoDay(new Date(now.getTime() - 7 * 86400000));
  const to = params.get("to") || isoDay(new Date(now.getTime() + 86400000));
  const currency = (params.get("currency") || "").toUpperCase();
  const fields = {
    from: h("input", { id: "flow-from", type: "date", value: from, required: true }),
    to: h("input", { id: "flow-to", type: "date", value: to, required: true }),
    currency: h("input", { id: "flow-currency", value: currency, size: 8, pattern: "[A-Za-z][A-Za-z0-9]{2,11}", "aria-describedby": "flow-currency-hint" }),
  };
  const form = h(
    "form",
    { class: "row", onsubmit: (e) => { e.preventDefault(); location.hash = `#/flows?${new URLSearchParams({ from: fields.from.value, to: fields.to.value, currency: fields.currency.value.toUpperCase() })}`; } },
    h("label", { for: "flow-from" }, "From"), fields.from,
    h("label", { for: "flow-to" }, "To (exclusive)"), fields.to,
    h("label", { for: "flow-currency" }, "Currency"), fields.currency,
    h("span", { class: "hint", id: "flow-currency-hint" }, "empty: every currency"),
    h("button", { type: "submit" }, "Show flows"),
  );
  const [flowBox, body] = box("read the flows between wallets");
  page("Flows between wallets", h("p", {}, "Who paid whom over a period: each band goes from a paying wallet (left) to a receiving wallet (right), as wide as the money moved."), form, flowBox);
  await section(body, async () => {
    const query = new URLSearchParams({ from: new Date(`${from}T00:00:00Z`).toISOString(), to: new Date(`${to}T00:00:00Z`).toISOString() });
    if (currency) query.set("currency", currency);
    const found = await api(`/v1/flows?${query}`);
    const byCurrency = new Map();
    for (const f of found.flows || []) {
      const list = byCurrency.get(f.currency) || [];
      list.push({
        source: f.source_wallet_id, sourceLabel: f.source_label || f.source_wallet_id.slice(0, 8),
        target: f.target_wallet_id, targetLabel: f.target_label || f.target_wallet_id.slice(0, 8),
        amount: Number(f.amount), label: f.amount_decimal, transactions: f.transactions,
      });
      byCurrency.set(f.currency, list);
    }
    if (!byCurrency.size) return h("p", { class: "empty" }, `No money moved between wallets${currency ? ` in ${currency}` : ""} in this period.`);
    const out = [];
    if (found.truncated) out.push(notice("info", "Only the largest flows are shown: the period holds more."));
    for (const [code, flows] of byCurrency) {
      const rows = flows.map((f) => [link(`#/wallet/${f.source}`, f.sourceLabel), link(`#/wallet/${f.target}`, f.targetLabel), h("span", { class: "num" }, f.label), f.transactions ?? "—"]);
      out.push(h("h2", {}, `In ${code}`), sankey(flows, { currency: code }), h("details", {}, h("summary", {}, `Show the ${code} flows as a table`), table(`Flows in ${code}`, ["From", "To", "Amount", "Transactions"], rows)));
    }
    return out;
  });
}

// ---- operations ----

async function opsPage() {
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
  stopPage = () => clearInterval(timer);
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

// ---- router ----

function route() {
  stopPage();
  stopPage = () => {};
  const [path, search] = (location.hash.slice(1) || "/search").split("?");
  const params = new URLSearchParams(search || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const loggedIn = Boolean(sessionStorage.getItem(KEY));
  document.getElementById("nav").hidden = !loggedIn;
  document.getElementById("who").hidden = !loggedIn;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === parts[0]) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!loggedIn || parts[0] === "login") return loginPage();
  switch (parts[0]) {
    case "wallet": return walletPage(parts[1] || "");
    case "tx": return transactionPage(parts[1] || "");
    case "hold": return holdPage(parts[1] || "");
    case "intent": return intentPage(parts[1] || "");
    case "flows": return flowsPage(params);
    case "ops": return opsPage();
    default: return searchPage(params);
  }
}

document.getElementById("logout").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(`${KEY}:wallet`);
  location.hash = "#/login";
  route();
});
window.addEventListener("hashchange", () => {
  if (sessionStorage.getItem(KEY) && document.getElementById("who").hidden) describeKey();
  route();
});
if (sessionStorage.getItem(KEY)) describeKey();
route();
