// A wallet's live events, and the holds and payment intents they show: every amount through money.js.

import {
  POLL_MS,
  announce,
  api,
  badge,
  code,
  explain,
  failure,
  h,
  lifecycle,
  link,
  table,
  when,
} from "/console/ui.js";
import { big, money } from "/console/money.js";

// What happened, said by the event's type (not the object's status after it: a refunded intent stays "paid").
function eventSummary(e, currencyOf) {
  const p = e.payload || {};
  const verb = e.type.slice(e.type.indexOf(".") + 1);
  const m = (minor, options) => money(minor, p.currency, options);
  if (e.type === "account.credited" || e.type === "account.debited") {
    const signed = e.type === "account.debited" ? -big(p.amount) : big(p.amount);
    return [m(signed, { signed: true }), ` (${p.command_type}) → balance `, m(p.balance_after), " ", link(`#/tx/${p.transaction_id}`, "transaction")];
  }
  if (e.type.startsWith("hold.")) {
    const captured = big(p.captured_amount) > 0n ? [", captured ", m(p.captured_amount)] : [];
    return [`hold ${verb}: `, m(p.amount), captured, " ", link(`#/hold/${p.hold_id}`, "hold")];
  }
  if (e.type === "intent.refunded") {
    const tx = p.transaction_id ? [" ", link(`#/tx/${p.transaction_id}`, "refund transaction")] : [];
    return ["refund: ", m(p.refund_amount ?? p.refunded_amount), " back to the payer (", m(p.refunded_amount), " of ", m(p.paid_amount), " refunded in all) ", link(`#/intent/${p.intent_id}`, "intent"), tx];
  }
  if (e.type === "account.opened") {
    const floor = p.min_balance === null || p.min_balance === undefined ? "no minimum balance" : ["min balance ", m(p.min_balance)];
    return [`account opened in ${p.currency}: `, floor];
  }
  if (e.type === "account.limits_changed") {
    const currency = currencyOf(e.account_id);
    const limit = (label, minor) => (minor === null || minor === undefined ? [] : [label, currency ? money(minor, currency) : `${minor} minor units`]);
    const parts = [limit("min balance ", p.min_balance), limit("max per transaction ", p.max_per_transaction), limit("a day ", p.daily_debit_amount)];
    if (p.daily_debit_count !== null && p.daily_debit_count !== undefined) parts.push([`${p.daily_debit_count} debits a day`]);
    const set = parts.filter((x) => x.length);
    return ["limits: ", set.length ? set.flatMap((x, i) => (i ? ["; ", ...x] : x)) : "none"];
  }
  if (e.type.startsWith("intent.")) {
    const paid = big(p.paid_amount) > 0n && big(p.paid_amount) !== big(p.amount) ? [", paid ", m(p.paid_amount)] : [];
    return [`intent ${verb}: `, m(p.amount), paid, " ", link(`#/intent/${p.intent_id}`, "intent")];
  }
  if (e.type === "wallet.frozen") return `frozen${p.reason ? `: ${p.reason}` : ""}${p.allow_credits ? " (credits allowed)" : ""}`;
  if (e.type === "command.refused") return `${p.command_type} refused: ${p.refusal}`;
  return Object.entries(p).slice(0, 4).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
}

function eventRow(e, currencyOf) {
  return h("tr", { "data-event": e.event_id }, h("td", {}, when(e.occurred_at)), h("td", {}, code(e.type)), h("td", {}, e.sequence ?? "—"), h("td", {}, eventSummary(e, currencyOf)), h("td", {}, e.principal ?? "—"));
}

const EVENTS_SHOWN = 30;

export function startEvents(wallet, body, holdBody, reason) {
  const events = [];
  // A limits event names its account only: its currency is the wallet's account's.
  const currencyOf = (account) => wallet.accounts.find((a) => a.id === account)?.currency;
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
    tbody.replaceChildren(...events.slice(-shown).reverse().map((e) => eventRow(e, currencyOf)));
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
  const previous = lifecycle.stop;
  lifecycle.stop = () => { running = false; clearTimeout(timer); previous(); };
}

function renderHolds(events, body) {
  const holds = new Map(), intents = new Map();
  for (const e of events) {
    if (e.type.startsWith("hold.")) holds.set(e.payload.hold_id, e);
    if (e.type.startsWith("intent.")) intents.set(e.payload.intent_id, e);
  }
  const holdRow = ({ payload: p, occurred_at: at }) => [
    link(`#/hold/${p.hold_id}`, `hold ${p.hold_id.slice(0, 8)}…`), badge(p.status), money(p.amount, p.currency), money(p.captured_amount, p.currency), "—", when(at),
  ];
  const intentRow = ({ payload: p, occurred_at: at }) => [
    link(`#/intent/${p.intent_id}`, `intent ${p.intent_id.slice(0, 8)}…`), intentState(p), money(p.amount, p.currency), money(p.paid_amount, p.currency), money(p.refunded_amount, p.currency), when(at),
  ];
  const rows = [...[...holds.values()].map(holdRow), ...[...intents.values()].map(intentRow)].reverse();
  body.replaceChildren(table("Holds and intents seen in this wallet's events, latest first", ["Object", "State", "Amount", "Captured / paid", "Refunded", "Last change"], rows, { empty: "none." }));
}

// A paid intent that was refunded stays "paid" with its refunded amount: say so beside its status.
export function intentState(p) {
  const refunded = big(p.refunded_amount ?? 0);
  if (refunded === 0n) return badge(p.status);
  return [badge(p.status), " ", badge(refunded === big(p.paid_amount) ? "refunded" : "partly refunded")];
}

