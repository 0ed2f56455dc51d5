// Composes the subgraph SDL files in a directory with Apollo's JavaScript
// composition (the reference implementation) and fails on any error.
// Usage: node compose.mjs <dir with <name>.graphql files>
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
const services = readdirSync(dir)
  .filter((f) => f.endsWith(".graphql"))
  .sort()
  .map((f) => ({
    name: f.replace(/\.graphql$/, ""),
    url: `http://localhost/${f}`,
    typeDefs: parse(readFileSync(join(dir, f), "utf8")),
  }));
const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const e of result.errors) console.error(`${e.extensions?.code ?? "ERROR"}: ${e.message}`);
  process.exit(1);
}
console.log(`composed ${services.length} subgraphs: ${services.map((s) => s.name).join(", ")}`);
