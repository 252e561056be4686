// Validate AsyncAPI documents with the official parser (@asyncapi/parser: the JSON Schema of the
// spec version plus its semantic rules). Usage: node validate.mjs FILE...; prints a JSON array of
// {file, diagnostics: [{severity, code, message, path}]}, one entry per file, and exits 0.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const SEVERITY = ["error", "warning", "info", "hint"];
const parser = new Parser();
const results = [];
for (const file of process.argv.slice(2)) {
  const diagnostics = await parser.validate(await readFile(file, "utf8"));
  results.push({
    file,
    diagnostics: diagnostics.map((d) => ({
      severity: SEVERITY[d.severity] ?? String(d.severity),
      code: String(d.code),
      message: d.message,
      path: d.path.join("/"),
    })),
  });
}
process.stdout.write(JSON.stringify(results, null, 1) + "\n");
