// The operator console. Vanilla ES modules, no build step, nothing from another origin.
// The API key lives in this tab's sessionStorage (never a cookie: no other site can make the browser
// send it) and goes to the /v1 API as a bearer token; the API's scopes decide what each page shows.

import { sankey } from "/console/charts.js";
import {
  ApiError,
  KEY,
  api,
  badge,
  box,
  code,
  h,
  isUuid,
  isoField,
  lifecycle,
  link,
  notice,
  page,
  parseUtc,
  section,
  table,
} from "/console/ui.js";
import { loadCurrencies, money, sumOf } from "/console/money.js";
import { walletPage } from "/console/wallet.js";
import { holdPage, intentPage, transactionPage } from "/console/objects.js";
import { opsPage } from "/console/ops.js";
import { matchPage, reconPage } from "/console/recon.js";

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
    w.accounts.length ? w.accounts.flatMap((a, i) => [i ? ", " : "", money(a.available, a.currency)]) : "—",
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


// ---- flows ----

const isoDay = (d) => d.toISOString().slice(0, 10);

async function flowsPage(params) {
  const now = new Date();
  const from = params.get("from") || isoDay(new Date(now.getTime() - 7 * 86400000));
  const to = params.get("to") || isoDay(new Date(now.getTime() + 86400000));
  const currency = (params.get("currency") || "").toUpperCase();
  const fields = {
    from: isoField("flow-from", "day", from),
    to: isoField("flow-to", "day", to),
    currency: h("input", { id: "flow-currency", value: currency, size: 8, pattern: "[A-Za-z][A-Za-z0-9]{2,11}", "aria-describedby": "flow-currency-hint" }),
  };
  const form = h(
    "form",
    { class: "row", onsubmit: (e) => { e.preventDefault(); location.hash = `#/flows?${new URLSearchParams({ from: fields.from.value, to: fields.to.value, currency: fields.currency.value.toUpperCase() })}`; } },
    h("label", { for: "flow-from" }, "From"), fields.from,
    h("label", { for: "flow-to" }, "To (exclusive)"), fields.to,
    h("label", { for: "flow-currency" }, "Currency"), fields.currency,
    h("span", { class: "hint", id: "flow-currency-hint" }, "days in UTC (YYYY-MM-DD); currency empty: every currency"),
    h("button", { type: "submit" }, "Show flows"),
  );
  const [flowBox, body] = box("read the flows between wallets");
  page("Flows between wallets", h("p", {}, "Who paid whom over a period: each band goes from a paying wallet (left) to a receiving wallet (right), as wide as the money moved."), form, flowBox);
  await section(body, async () => {
    const [start, end] = [parseUtc(from), parseUtc(to)];
    if (!start || !end) return notice("error", "Write the days as YYYY-MM-DD (UTC).");
    const query = new URLSearchParams({ from: start.toISOString(), to: end.toISOString() });
    if (currency) query.set("currency", currency);
    const found = await api(`/v1/flows?${query}`);
    const byCurrency = new Map();
    for (const f of found.flows || []) {
      const list = byCurrency.get(f.currency) || [];
      list.push({
        source: f.source_wallet_id, sourceLabel: f.source_label || f.source_wallet_id.slice(0, 8),
        target: f.target_wallet_id, targetLabel: f.target_label || f.target_wallet_id.slice(0, 8),
        minor: f.amount, amount: Number(f.amount), transactions: f.transactions,
      });
      byCurrency.set(f.currency, list);
    }
    if (!byCurrency.size) return h("p", { class: "empty" }, `No money moved between wallets${currency ? ` in ${currency}` : ""} in this period.`);
    const out = [];
    if (found.truncated) out.push(notice("info", "Only the largest flows are shown: the period holds more."));
    for (const [code, flows] of byCurrency) {
      const rows = flows.map((f) => [link(`#/wallet/${f.source}`, f.sourceLabel), link(`#/wallet/${f.target}`, f.targetLabel), money(f.minor, code), f.transactions ?? "—"]);
      const total = money(sumOf(flows.map((f) => f.minor)), code);
      out.push(h("h2", {}, `In ${code}: `, total, " moved"), sankey(flows, { currency: code }), h("details", {}, h("summary", {}, `Show the ${code} flows as a table`), table(`Flows in ${code}`, ["From", "To", "Amount", "Transactions"], rows)));
    }
    return out;
  });
}


// ---- router ----

async function route() {
  lifecycle.stop();
  lifecycle.stop = () => {};
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
  await loadCurrencies();  // every amount is shown at its currency's exponent (money.js)
  switch (parts[0]) {
    case "wallet": return walletPage(parts[1] || "");
    case "tx": return transactionPage(parts[1] || "");
    case "hold": return holdPage(parts[1] || "");
    case "intent": return intentPage(parts[1] || "");
    case "flows": return flowsPage(params);
    case "ops": return opsPage();
    case "recon": return parts[1] === "match" ? matchPage(parts[2] || "") : reconPage(params);
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

