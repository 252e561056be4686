// An independent verifier of the ledger's events, written from docs/topology.md#the-hash-chain and
// docs/security.md#signed-events alone (Node.js stdlib only, no code of the ledger, no npm packages).
// It checks every case of contracts/chain_vectors.json (signature, then hash chain) and of
// contracts/signing_vectors.json (signature):
//
//   node examples/node-chain-verifier/verify.mjs [chain_vectors.json [signing_vectors.json]]
//
// Exits 0 if every case comes out as its "valid" says, 1 otherwise. `verifySignature`, `parseExact` and
// `ChainVerifier` below are also a reference for JavaScript subscribers.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

export class VerifyError extends Error {}

// --- Signatures (docs/security.md#signed-events), step by step as the recipe lists them ---------------

function hmacHex(secret, data) {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(data).digest("hex");
}

function sameText(a, b) {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The bytes the v2 HMAC covers: "v2" LF signed_at LF routing_key LF message_id LF type LF body. */
export function stringToSign(signedAt, [routingKey, messageId, type], body) {
  const head = ["v2", signedAt, routingKey, messageId, type].map((f) => f + "\n").join("");
  return Buffer.concat([Buffer.from(head, "utf8"), body]);
}

/** message: {routing_key, message_id, type, body (Buffer), headers}; keys: {kid: secret text}. */
export function verifySignature(message, keys, options = {}) {
  const h = message.headers ?? {};
  // 1. key id and signature headers; 2. the key id's secret.
  const kid = h["x-ledger-signature-key"];
  const given = h["x-ledger-signature"];
  if (typeof kid !== "string" || !kid || typeof given !== "string" || !given) throw new VerifyError("not signed");
  if (!Object.hasOwn(keys, kid)) throw new VerifyError(`unknown key ${kid}`);
  const secret = keys[kid];
  // 3. the previous, body-only scheme: only with accept_legacy, never with max_age.
  if (given.startsWith("sha256=")) {
    if (!options.accept_legacy) throw new VerifyError("legacy signature refused");
    if (options.max_age !== undefined) throw new VerifyError("legacy signature has no signing time");
    if (!sameText("sha256=" + hmacHex(secret, message.body), given)) throw new VerifyError("legacy mismatch");
    return;
  }
  // 4. v2 only, with its signing time.
  if (!given.startsWith("v2=")) throw new VerifyError("unsupported scheme");
  const signedAt = h["x-ledger-signed-at"];
  if (typeof signedAt !== "string" || !/^(0|[1-9][0-9]*)$/.test(signedAt)) throw new VerifyError("bad signed_at");
  // 5. text fields present, non-empty, without LF.
  const fields = [message.routing_key, message.message_id, message.type];
  for (const f of fields) {
    if (typeof f !== "string" || f === "" || f.includes("\n")) throw new VerifyError("bad routing key, id or type");
  }
  // 6. the string to sign; 7. the HMAC compared in constant time; 8. optionally, the signing time.
  const data = stringToSign(signedAt, fields, message.body);
  if (!sameText("v2=" + hmacHex(secret, data), given)) throw new VerifyError("signature mismatch");
  if (options.max_age !== undefined) {
    const age = (options.now ?? Date.now() / 1000) - Number(signedAt);
    if (age > options.max_age) throw new VerifyError("too old");
    if (-age > (options.clock_skew ?? 300)) throw new VerifyError("in the future");
  }
}

// --- Exact JSON: amounts go up to 10^38 - 1, beyond Number's 2^53 ---------------------------------------

/** JSON.parse, except that every integer is a BigInt (JSON.parse alone rounds 10^38 - 1 to 1e38). */
export function parseExact(text) {
  // Outside strings, wrap each integer literal so the reviver can turn its exact digits into a BigInt.
  const marked = text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (token) =>
    /^-?\d+$/.test(token) ? `{"\\u0000int":"${token}"}` : token,
  );
  return JSON.parse(marked, (_, value) =>
    value !== null && typeof value === "object" && Object.hasOwn(value, "\u0000int") ? BigInt(value["\u0000int"]) : value,
  );
}

// --- The hash chain (docs/topology.md#the-hash-chain) ---------------------------------------------------

const SIGN = { "account.credited": 1n, "account.debited": -1n };
const GENESIS = "0".repeat(64);

/** occurred_at (RFC 3339, UTC) as exact microseconds since 1970-01-01T00:00:00Z; Date keeps only ms. */
export function epochMicros(occurredAt) {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|\+00:00)$/.exec(occurredAt);
  if (!m) throw new VerifyError(`occurred_at ${occurredAt} is not UTC with at most 6 fraction digits`);
  const seconds = BigInt(Date.parse(m[1] + "Z") / 1000);
  return seconds * 1000000n + BigInt((m[2] ?? "").padEnd(6, "0"));
}

/** The posting's canonical text: what follows the previous hash's 32 bytes in the hashed bytes. */
export function postingText(event) {
  const p = event.payload;
  const signed = SIGN[event.type] * p.amount;
  const micros = epochMicros(event.occurred_at);
  const fields = [event.account_id, p.transaction_id, p.command_type, p.currency, signed, p.balance_after, micros];
  return { text: fields.join("|"), signed, micros };
}

export function entryHash(previousHex, text) {
  if (!/^[0-9a-f]{64}$/.test(previousHex)) throw new VerifyError("previous_hash is not 64 lowercase hex digits");
  return createHash("sha256").update(Buffer.from(previousHex, "hex")).update(text, "utf8").digest("hex");
}

/** One account's chain: feed its account.credited/account.debited events in sequence order. */
export class ChainVerifier {
  constructor(head = GENESIS) {
    this.head = head; // the entry_hash of the last posting checked (a reader starting mid-stream passes its own)
  }

  check(event) {
    if (!Object.hasOwn(SIGN, event.type)) throw new VerifyError(`${event.type} carries no posting`);
    const p = event.payload;
    if (p.previous_hash !== this.head) throw new VerifyError("previous_hash does not link to the posting before");
    const built = postingText(event);
    if (entryHash(p.previous_hash, built.text) !== p.entry_hash) throw new VerifyError("entry_hash does not match");
    this.head = p.entry_hash;
    return built;
  }
}

// --- The vectors -------------------------------------------------------------------------------------

function outcome(name, expectValid, error, failures) {
  if ((error === null) !== expectValid) {
    console.log(`FAIL ${name}: expected ${expectValid ? "valid" : "invalid"}, got ${error ?? "valid"}`);
    return failures + 1;
  }
  console.log(`ok   ${name}${error === null ? "" : ` (refused: ${error})`}`);
  return failures;
}

function chainCase(c, keys) {
  const chain = new ChainVerifier();
  for (const [i, e] of c.events.entries()) {
    const body = Buffer.from(e.body_text, "utf8");
    verifySignature({ ...e, body }, keys);
    const event = parseExact(e.body_text);
    if (event.type !== e.type) throw new VerifyError("body type is not the AMQP type");
    let built;
    try {
      built = chain.check(event);
    } catch (err) {
      if (err instanceof VerifyError && c.breaks_at === i) throw err;
      throw new Error(`event ${i}: ${err.message} (breaks_at ${c.breaks_at})`);
    }
    for (const [k, v] of [["text", built.text], ["micros", String(built.micros)], ["signed_amount", String(built.signed)]]) {
      if (e[k] !== undefined && e[k] !== v) throw new Error(`event ${i}: ${k} built ${v}, vector says ${e[k]}`);
    }
  }
}

function run(chainPath, signingPath) {
  let failures = 0;
  const chains = JSON.parse(readFileSync(chainPath, "utf8"));
  for (const c of chains.cases) {
    let error = null;
    try {
      chainCase(c, chains.keys);
    } catch (e) {
      if (!(e instanceof VerifyError)) {
        console.log(`FAIL chain: ${c.name}: ${e.message}`);
        failures++;
        continue;
      }
      error = e.message;
    }
    failures = outcome(`chain: ${c.name}`, c.valid, error, failures);
  }
  const signing = JSON.parse(readFileSync(signingPath, "utf8"));
  for (const c of signing.cases) {
    const m = c.message;
    const body = Buffer.from(m.body_base64, "base64");
    let error = null;
    try {
      verifySignature({ ...m, body }, c.keys, c.options ?? {});
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e;
      error = e.message;
    }
    // The vector's own consistency: its text body is its bytes, and a valid case's string to sign is the one
    // built here byte for byte.
    const given = c.string_to_sign_base64 === undefined ? null : Buffer.from(c.string_to_sign_base64, "base64");
    const fields = [m.routing_key, m.message_id, m.type];
    if (m.body_text !== undefined && !body.equals(Buffer.from(m.body_text, "utf8"))) {
      console.log(`FAIL signature: ${c.name}: body_text is not body_base64`);
      failures++;
    } else if (given !== null && !stringToSign(m.headers["x-ledger-signed-at"], fields, body).equals(given)) {
      console.log(`FAIL signature: ${c.name}: string to sign differs`);
      failures++;
    } else {
      failures = outcome(`signature: ${c.name}`, c.valid, error, failures);
    }
  }
  const total = chains.cases.length + signing.cases.length;
  console.log(`${chains.cases.length} chain cases, ${signing.cases.length} signature cases, ${failures} failed of ${total}`);
  return failures === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = (name) => fileURLToPath(new URL(`../../contracts/${name}`, import.meta.url));
  process.exit(run(process.argv[2] ?? at("chain_vectors.json"), process.argv[3] ?? at("signing_vectors.json")));
}
