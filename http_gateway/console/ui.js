// The console's frame: DOM helpers (data goes in as text, never as HTML), the API client, the page frame.

export const KEY = "ledger-console-key";
export const POLL_MS = 2000;
export const main = document.getElementById("main");
// What the page shown now must stop when another is opened (its polling): set by the page.
export const lifecycle = { stop: () => {} };

// ---- DOM helpers: data goes in as text, never as HTML ----

export function h(tag, attrs = {}, ...children) {
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

export const link = (href, text) => h("a", { href }, text);
export const code = (text) => h("code", {}, text ?? "—");
export const when = (iso) => (iso ? h("time", { datetime: iso }, iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "Z")) : "—");

// Instants and days are typed as they are shown, ISO 8601 in UTC, whatever the browser's locale: a text
// field, not the browser's date picker (which writes and reads the locale's format and the local zone).
const ISO_UTC = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2})?)?Z?$/;

export function parseUtc(text) {
  const m = ISO_UTC.exec(String(text || "").trim());
  if (!m) return null;
  const date = new Date(`${m[1]}T${m[2] || "00:00"}${m[3] || ":00"}Z`);
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== m[1] ? null : date;
}

export function isoField(id, kind, value = "") {
  const day = kind === "day";
  return h("input", {
    id,
    value,
    required: day,
    autocomplete: "off",
    spellcheck: "false",
    size: day ? 11 : 21,
    placeholder: day ? "YYYY-MM-DD" : "YYYY-MM-DD HH:MM:SSZ",
    pattern: day ? "\\d{4}-\\d{2}-\\d{2}" : "\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2})?)?Z?",
    title: day ? "a day in UTC: YYYY-MM-DD" : "an instant in UTC: YYYY-MM-DD HH:MM:SS (Z optional)",
  });
}

export const badge = (status) => h("span", { class: `badge status-${String(status).replace(/[^a-z_]/g, "")}` }, status);

export function dl(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]));
}

export function table(caption, headers, rows, { empty = "Nothing here.", cls } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, `${caption}: ${empty}`);
  return h(
    "table",
    { class: cls },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c ?? "—"))))),
  );
}

export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  setTimeout(() => (region.textContent = text), 30);
}

export function notice(kind, text) {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

// Big integers in JSON (beyond 2^53) are kept as their exact text, so hashes use the exact amounts.
export function parseJSON(text) {
  return JSON.parse(text, (key, value, context) =>
    typeof value === "number" && !Number.isSafeInteger(value) && Number.isInteger(value) && context?.source
      ? context.source
      : value,
  );
}

// ---- the API ----

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || String(status);
  }
}

export async function api(path, { method = "GET", body, headers = {} } = {}) {
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
export function explain(error, doing) {
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

export function failure(error, doing) {
  if (error instanceof ApiError && error.status === 401) {
    sessionStorage.removeItem(KEY);
    setTimeout(() => (location.hash = "#/login"), 0);
  }
  return notice("error", explain(error, doing));
}

// ---- page frame ----

// Each page draws into a view of its own: what a slow answer for a page already left brings lands in a
// detached view and shows nowhere, and its polling stops (view.isConnected).
export function page(title, ...content) {
  const heading = h("h1", { tabindex: "-1" }, title);
  const view = h("div", { class: "view" }, heading, ...content);
  main.replaceChildren(view);
  document.title = `${title} · Ledger console`;
  heading.focus({ preventScroll: false });
  return view;
}

export async function section(container, loader) {
  container.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  try {
    const content = await loader();
    container.replaceChildren(...[content].flat().filter(Boolean));
  } catch (error) {
    container.replaceChildren(failure(error, container.dataset.doing || "load this"));
  }
}

export function box(doing, heading) {
  const node = h("section", { "data-doing": doing, "aria-labelledby": undefined }, heading ? h("h2", {}, heading) : null);
  const body = h("div", { class: "section-body" });
  node.append(body);
  body.dataset.doing = doing;
  return [node, body];
}

export const isUuid = (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
