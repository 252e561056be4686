// An independent verifier of the ledger's v2 event signatures, written from docs/security.md#signed-events
// alone (Node.js stdlib only, no code of the ledger): checks every case of contracts/signing_vectors.json.
//
//   node tools/signing/verify_vectors.mjs [contracts/signing_vectors.json]
//
// Exits 0 if every case verifies as its "valid" says (and, for valid ones, the string to sign built here
// is byte for byte the one given), 1 otherwise. `verify` below is also a reference for JavaScript subscribers.

import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const KEY_ID = "x-ledger-signature-key";
const SIGNED_AT = "x-ledger-signed-at";
const SIGNATURE = "x-ledger-signature";

export class SignatureError extends Error {}

/** The bytes the HMAC covers: "v2" LF signed_at LF routing_key LF message_id LF type LF body. */
export function stringToSign(signedAt, routingKey, messageId, type, body) {
  if (!/^(0|[1-9][0-9]*)$/.test(signedAt)) throw new SignatureError(`malformed ${SIGNED_AT}`);
  for (const [name, value] of [["routing key", routingKey], ["message_id", messageId], ["type", type]]) {
    if (typeof value !== "string" || value === "") throw new SignatureError(`no ${name}`);
    if (value.includes("\n")) throw new SignatureError(`${name} contains a line feed`);
  }
  const head = ["v2", signedAt, routingKey, messageId, type].map((f) => f + "\n").join("");
  return Buffer.concat([Buffer.from(head, "utf8"), body]);
}

function hmacHex(secret, data) {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(data).digest("hex");
}

function sameText(a, b) {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Throws SignatureError unless the message was signed as it is by one of `keys` ({kid: secret text}).
 * message: {routing_key, message_id, type, body (Buffer), headers}; options: {max_age, clock_skew, now,
 * accept_legacy}.
 */
export function verify(message, keys, options = {}) {
  const headers = message.headers ?? {};
  const kid = headers[KEY_ID];
  const given = headers[SIGNATURE];
  if (typeof kid !== "string" || !kid || typeof given !== "string" || !given) {
    throw new SignatureError("not signed");
  }
  if (!Object.hasOwn(keys, kid)) throw new SignatureError(`unknown key ${kid}`);
  const secret = keys[kid];
  if (given.startsWith("sha256=")) {
    // The previous, body-only scheme: only while a subscriber explicitly accepts it.
    if (!options.accept_legacy) throw new SignatureError("legacy signature refused");
    if (options.max_age !== undefined) throw new SignatureError("legacy signature has no signing time");
    if (!sameText("sha256=" + hmacHex(secret, message.body), given)) throw new SignatureError("mismatch");
    return;
  }
  if (!given.startsWith("v2=")) throw new SignatureError("unsupported scheme");
  const signedAt = headers[SIGNED_AT];
  if (typeof signedAt !== "string") throw new SignatureError(`no ${SIGNED_AT}`);
  const data = stringToSign(signedAt, message.routing_key, message.message_id, message.type, message.body);
  if (!sameText("v2=" + hmacHex(secret, data), given)) throw new SignatureError("mismatch");
  if (options.max_age !== undefined) {
    const now = options.now ?? Date.now() / 1000;
    const age = now - Number(signedAt);
    if (age > options.max_age) throw new SignatureError("too old");
    if (-age > (options.clock_skew ?? 300)) throw new SignatureError("in the future");
  }
}

function main(path) {
  const doc = JSON.parse(readFileSync(path, "utf8"));
  if (doc.scheme !== "v2") throw new Error(`unexpected scheme ${doc.scheme}`);
  let failures = 0;
  let valid = 0;
  for (const c of doc.cases) {
    const body = Buffer.from(c.message.body_base64, "base64");
    if (c.message.body_text !== undefined && !body.equals(Buffer.from(c.message.body_text, "utf8"))) {
      console.log(`FAIL ${c.name}: body_text is not body_base64`);
      failures++;
      continue;
    }
    const message = { ...c.message, body };
    let error = null;
    try {
      verify(message, c.keys, c.options ?? {});
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      error = e.message;
    }
    if ((error === null) !== c.valid) {
      console.log(`FAIL ${c.name}: expected ${c.valid ? "valid" : "invalid"}, got ${error ?? "valid"}`);
      failures++;
      continue;
    }
    if (c.string_to_sign_base64 !== undefined) {
      const h = c.message.headers;
      const built = stringToSign(h[SIGNED_AT], c.message.routing_key, c.message.message_id, c.message.type, body);
      if (!built.equals(Buffer.from(c.string_to_sign_base64, "base64"))) {
        console.log(`FAIL ${c.name}: string to sign differs`);
        failures++;
        continue;
      }
    }
    if (c.valid) valid++;
    console.log(`ok   ${c.name}${error === null ? "" : ` (refused: ${error})`}`);
  }
  console.log(`${doc.cases.length} cases, ${valid} valid, ${doc.cases.length - valid - failures} invalid, ${failures} failed`);
  return failures === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(main(process.argv[2] ?? fileURLToPath(new URL("../../contracts/signing_vectors.json", import.meta.url))));
}
