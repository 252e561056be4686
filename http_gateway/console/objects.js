// One transaction (postings, hash chain), one hold, one payment intent.

import { intentState } from "/console/events.js";
import { big, money } from "/console/money.js";
import {
  api,
  badge,
  box,
  code,
  dl,
  explain,
  failure,
  h,
  link,
  notice,
  page,
  section,
  table,
  when,
} from "/console/ui.js";

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

export async function transactionPage(id) {
  const view = page(`Transaction ${id.slice(0, 8)}…`);
  let tx;
  try {
    tx = await api(`/v1/transactions/${encodeURIComponent(id)}`);
  } catch (error) {
    view.append(failure(error, "read this transaction"));
    return;
  }
  const debits = tx.postings.filter((p) => big(p.amount) < 0n), credits = tx.postings.filter((p) => big(p.amount) > 0n);
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
  // Every posting carries its currency (the other wallets' too), so each leg reads as money.
  const amountOf = (minor, p) => money(minor, p.currency);
  const side = (caption, postings) =>
    table(caption, ["Wallet", "Account", "Amount", "Balance after"], postings.map((p) => [
      link(`#/wallet/${p.wallet_id}`, names.get(p.wallet_id)),
      code(p.account_id),
      amountOf(big(p.amount) < 0n ? -big(p.amount) : big(p.amount), p),  // the side says debit or credit
      p.balance_after === null ? h("span", { class: "hint" }, "not shown to this key") : amountOf(p.balance_after, p),
    ]), { empty: "none.", cls: "side" });
  // Postings sum to zero per currency: the sums that do not, each in its currency.
  const sums = new Map();
  for (const p of tx.postings) sums.set(p.currency, (sums.get(p.currency) ?? 0n) + big(p.amount));
  const off = [...sums].filter(([, sum]) => sum !== 0n);
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
      ["Amount", tx.amount !== null && tx.currency ? money(tx.amount, tx.currency) : "multi-leg"],
      ["Description", tx.description],
      ["Metadata", Object.entries(tx.metadata).map(([k, v]) => `${k}=${v}`).join(", ") || "none"],
      ["Posted", when(tx.created_at)],
      ...links,
    ]),
    h("h2", {}, "Postings"),
    h("div", { class: "two-sides" }, side("Debits (money out)", debits), side("Credits (money in)", credits)),
    off.length
      ? h("p", { class: "bad" }, "✗ Not balanced: the postings sum to ", off.map(([c, sum], i) => [i ? ", " : "", c === "?" ? `${sum} minor units` : money(sum, c)]), ".")
      : h("p", { class: "ok" }, "✓ Balanced: debits equal credits."),
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

export async function holdPage(id) {
  const view = page(`Hold ${id.slice(0, 8)}…`);
  try {
    const hold = await api(`/v1/holds/${encodeURIComponent(id)}`);
    view.append(dl([
      ["Id", code(hold.id)],
      ["State", badge(hold.status)],
      ["Wallet", link(`#/wallet/${hold.wallet_id}`, hold.wallet_id)],
      ["Account", code(hold.account_id)],
      ["Amount", money(hold.amount, hold.currency)],
      ["Captured", money(hold.captured_amount, hold.currency)],
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

export async function intentPage(id) {
  const view = page(`Payment intent ${id.slice(0, 8)}…`);
  try {
    const it = await api(`/v1/payment_intents/${encodeURIComponent(id)}`);
    const [refundBox, refundBody] = box("read this intent's refunds", "Refunds");
    view.append(dl([
      ["Id", code(it.id)],
      ["State", intentState(it)],
      ["Merchant account", code(it.merchant_account_id)],
      ["Amount", money(it.amount, it.currency)],
      ["Paid", money(it.paid_amount, it.currency)],
      ["Refunded", money(it.refunded_amount, it.currency)],
      ["Payer account", it.payer_account_id ? code(it.payer_account_id) : "not paid yet"],
      ["Hold", it.hold_id ? link(`#/hold/${it.hold_id}`, it.hold_id) : "—"],
      ["Expires", when(it.expires_at)],
      ["Description", it.description],
      ["Created", when(it.created_at)],
      ["Updated", when(it.updated_at)],
    ]), refundBox);
    section(refundBody, () => intentRefunds(it));
  } catch (error) {
    view.append(failure(error, "read this payment intent"));
  }
}


// Each refund of an intent, as the intent lists them (oldest first; its payer reads them too, who may not
// read the merchant's events), with the refunded total after each.
function intentRefunds(it) {
  if (!it.refunds.length) return h("p", { class: "empty" }, "No refund.");
  let total = 0n;
  const rows = it.refunds.map((r) => {
    total += big(r.amount);
    return [
      when(r.created_at),
      money(r.amount, it.currency),
      money(total, it.currency),
      r.reason ?? "—",
      link(`#/tx/${r.transaction_id}`, r.transaction_id),
    ];
  });
  return table("Refunds of this intent, newest first", ["When", "Refund", "Refunded in all", "Reason", "Transaction"],
    rows.reverse());
}
