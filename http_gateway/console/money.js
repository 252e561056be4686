// The one way the console shows an amount: the exact decimal of integer minor units at the currency's
// exponent (GET /v1/currencies), then the currency's code: "-19.90 USD", "3000 JPY". Minor units may
// exceed 2^53 (ui.js's parseJSON keeps such numbers as their exact text), so they become BigInt here and
// never go through a Number.

import { api } from "/console/ui.js";

const exponents = new Map();
let loading = null;

// The registered currencies and their exponents, asked once per page load (again when a code is missing:
// a currency registered since).
export async function loadCurrencies() {
  if (!loading) {
    loading = api("/v1/currencies")
      .then((list) => {
        for (const c of list) exponents.set(c.code, c.exponent);
      })
      .catch(() => {
        loading = null;  // refused or unreachable: amounts show as minor units, marked, until it answers
      });
  }
  await loading;
}

let missingSince = 0;

// A code the list did not have: read the list again (at most every 10 s); polled pages show it next time.
function reload() {
  if (Date.now() - missingSince < 10_000) return;
  missingSince = Date.now();
  loading = null;
  loadCurrencies();
}

export const exponentOf = (currency) => exponents.get(currency);

// Integer minor units (number, numeric string or BigInt) as an exact decimal string.
export function decimal(minor, exponent) {
  let value = BigInt(typeof minor === "bigint" ? minor : String(minor));
  const negative = value < 0n;
  if (negative) value = -value;
  let digits = value.toString();
  if (exponent > 0) {
    digits = digits.padStart(exponent + 1, "0");
    digits = `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  }
  return `${negative ? "-" : ""}${digits}`;
}

// "12.50 USD"; { signed: true } writes "+12.50 USD" for a credit. An unknown currency shows its minor
// units said as such, never a bare number that reads as a decimal.
export function formatMoney(minor, currency, { signed = false } = {}) {
  if (minor === null || minor === undefined || minor === "") return "—";
  const exponent = exponents.get(currency);
  if (exponent === undefined) {
    reload();
    return `${minor} minor units of ${currency}`;
  }
  const text = decimal(minor, exponent);
  return `${signed && !text.startsWith("-") && BigInt(String(minor)) !== 0n ? "+" : ""}${text} ${currency}`;
}

// The element every amount on a page is: its text from formatMoney, its exact minor units and currency as
// data attributes (the browser tests find every amount by [data-money]).
export function money(minor, currency, { signed = false, tag = "span", cls = "" } = {}) {
  const node = document.createElement(tag);
  node.className = `num money ${cls}`.trim();
  node.dataset.money = String(minor);
  node.dataset.currency = currency;
  node.textContent = formatMoney(minor, currency, { signed });
  return node;
}

// BigInt helpers for sums and extremes of minor units given as numbers or exact strings.
export const big = (minor) => BigInt(typeof minor === "bigint" ? minor : String(minor));
export const sumOf = (values) => values.reduce((s, v) => s + big(v), 0n);
export const minOf = (values) => values.map(big).reduce((a, b) => (b < a ? b : a));
export const maxOf = (values) => values.map(big).reduce((a, b) => (b > a ? b : a));
