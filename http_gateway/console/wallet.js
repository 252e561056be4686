// The wallet page: balances, the balance chart, postings, live events, holds and intents.

import { startEvents } from "/console/events.js";
import { big, money } from "/console/money.js";
import { balanceChart } from "/console/charts.js";
import {
  api,
  badge,
  box,
  code,
  dl,
  explain,
  failure,
  h,
  isoField,
  link,
  main,
  page,
  parseUtc,
  section,
  table,
  when,
} from "/console/ui.js";

// ---- wallet ----

function limitsText(l, currency) {
  const parts = [];
  if (l.min_balance !== null) parts.push(["min balance ", money(l.min_balance, currency)]);
  if (l.max_per_transaction !== null) parts.push(["max ", money(l.max_per_transaction, currency), " per transaction"]);
  if (l.daily_debit_amount !== null) parts.push([money(l.daily_debit_amount, currency), " a day"]);
  if (l.daily_debit_count !== null) parts.push([`${l.daily_debit_count} debits a day`]);
  return parts.length ? parts.flatMap((p, i) => (i ? ["; ", ...p] : p)) : "none";
}

// The account the chart opens on: the wallet's first, in the first currency it was created with (its
// account.opened event comes first in the wallet's stream), not the first by currency code (an EUR
// account opened later on a USD wallet). Without its events (refused): the oldest account.
async function mainAccount(wallet) {
  const byAge = wallet.accounts.slice().sort((a, b) => a.created_at.localeCompare(b.created_at));
  try {
    const found = await api(`/v1/wallets/${wallet.id}/events?limit=50`);
    const opened = found.events.find((e) => e.type === "account.opened" && wallet.accounts.some((a) => a.id === e.account_id));
    if (opened) return opened.account_id;
  } catch {
    // the chart still opens, on the oldest account
  }
  return byAge[0].id;
}

export async function walletPage(ref) {
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
          money(a.balance, a.currency),
          money(a.held, a.currency),
          money(a.available, a.currency, { tag: "strong" }),
          badge(a.status),
          limitsText(a.limits, a.currency),
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
    const main = await mainAccount(wallet);
    if (!view.isConnected) return;
    const select = h("select", { id: "chart-account" }, accounts.map((a) => h("option", { value: a.id, selected: a.id === main }, `${a.currency} (${a.id.slice(0, 8)}…)${a.id === main ? " · main" : ""}`)));
    select.value = main;
    const holder = h("div", { class: "chart-holder" });
    const at = isoField("balance-at", "instant");
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
  const at = value.trim() ? parseUtc(value) : null;
  if (value.trim() && !at) {
    output.textContent = "Write the instant as YYYY-MM-DD HH:MM:SS (UTC).";
    return;
  }
  try {
    const query = at ? `?at=${encodeURIComponent(at.toISOString())}` : "";
    const b = await api(`/v1/accounts/${accountId}/balance${query}`);
    output.replaceChildren(money(b.balance, b.currency), " posted", b.posted_at ? [" (last posting ", when(b.posted_at), ")"] : " (no posting yet)");
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
  const points = entries.slice().reverse().map((e) => ({ t: new Date(e.created_at), minor: e.balance_after }));
  if (complete) points.unshift({ t: new Date(oldest.created_at), minor: 0 });
  const title = `Balance of the ${account.currency} account, ${complete ? "every posting" : `last ${entries.length} postings`}`;
  const rows = entries.map((e) => [when(e.created_at), e.type, money(e.amount, e.currency, { signed: true }), money(e.balance_after, e.currency), link(`#/tx/${e.transaction_id}`, e.transaction_id.slice(0, 8) + "…")]);
  return [
    balanceChart(points, { currency: account.currency, title }),
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
    money(e.amount, e.currency, { signed: true, cls: big(e.amount) < 0n ? "debit" : "credit" }),
    money(e.balance_after, e.currency),
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
