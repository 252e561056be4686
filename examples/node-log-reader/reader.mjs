// Reads the ledger's event log stream, written from docs/topology.md ("The event log") and
// docs/security.md ("Signed events") alone, with amqplib and Node's standard library.
//
//   AMQP_URL=amqp://… LEDGER_NAMESPACE=… EVENT_SIGNING_KEYS=kid:secret node reader.mjs [--after N] [--count N]
//
// Prints one JSON line per event handled: {"position", "type", "event_id", "account_id", "sequence"}.
// Starts after position --after (default 0: the beginning) and stops after --count events (default: never).
// Exits with status 3 if the stream no longer keeps the position it needs next (fell behind retention).
import crypto from "node:crypto";
import amqp from "amqplib";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
let last = Number(args.after ?? 0); // the last position handled
const count = args.count === undefined ? Infinity : Number(args.count);
const stream = `${process.env.LEDGER_NAMESPACE ?? ""}ledger.events.log`;
const keys = new Map(
  (process.env.EVENT_SIGNING_KEYS ?? "").split(",").filter(Boolean).map((pair) => {
    const at = pair.indexOf(":");
    return [pair.slice(0, at), Buffer.from(pair.slice(at + 1), "utf8")];
  }),
);

const text = (value) => (Buffer.isBuffer(value) ? value.toString("utf8") : value === undefined ? undefined : String(value));

// docs/security.md, "Verify a received message", steps 1-6.
function verified(message) {
  const headers = message.properties.headers ?? {};
  const kid = text(headers["x-ledger-signature-key"]);
  const signature = text(headers["x-ledger-signature"]);
  const signedAt = text(headers["x-ledger-signed-at"]);
  const secret = keys.get(kid);
  if (!kid || !signature || !signedAt || !secret || !signature.startsWith("v2=")) return false;
  const fields = [message.fields.routingKey, message.properties.messageId, message.properties.type];
  if (!/^(0|[1-9][0-9]*)$/.test(signedAt) || fields.some((f) => !f || f.includes("\n"))) return false;
  const head = Buffer.from(["v2", signedAt, ...fields].map((f) => `${f}\n`).join(""), "utf8");
  const expected = Buffer.from(`v2=${crypto.createHmac("sha256", secret).update(Buffer.concat([head, message.content])).digest("hex")}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

const connection = await amqp.connect(process.env.AMQP_URL);
const channel = await connection.createChannel();
await channel.prefetch(200); // a stream consumer must have a prefetch
let handled = 0;
let checked = false;

async function stop(status) {
  await connection.close();
  process.exit(status);
}

// Starting at position n: read from "first" and skip up to n (the small way the docs give).
await channel.consume(
  stream,
  async (message) => {
    const position = Number(message.properties.headers["x-ledger-position"]);
    if (!checked) {
      checked = true;
      if (position > last + 1) {
        // The oldest the stream keeps is past what we need next: retention dropped it. Never skip.
        console.error(`fell behind: need position ${last + 1}, the stream's oldest is ${position}`);
        return stop(3);
      }
    }
    if (position === last + 1) {
      if (!verified(message)) {
        console.error(`position ${position}: signature does not verify; skipped`);
      } else {
        const event = JSON.parse(message.content.toString("utf8"));
        console.log(JSON.stringify({ position, type: event.type, event_id: event.event_id, account_id: event.account_id, sequence: event.sequence }));
        last = position;
        handled += 1;
      }
    } // at or below last: a duplicate; above last + 1: last + 1 comes next. Both skipped.
    channel.ack(message);
    if (handled >= count) await stop(0);
  },
  { noAck: false, arguments: { "x-stream-offset": "first" } },
);
