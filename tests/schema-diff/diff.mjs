// Compares two versions of the published API schema with GraphQL
// Inspector and fails when a breaking change is not announced in the
// changelog. A breaking change is announced when its schema coordinate
// (GraphQL Inspector's path, e.g. `Query.medicine` or `Order.total`)
// appears in backticks in CHANGELOG.md.
//
//   node diff.mjs <old schema> <new schema> <CHANGELOG.md>
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { diff, CriticalityLevel } from '@graphql-inspector/core';

const [oldPath, newPath, changelogPath] = process.argv.slice(2);
if (!oldPath || !newPath || !changelogPath) {
  console.error('usage: node diff.mjs <old schema> <new schema> <CHANGELOG.md>');
  process.exit(2);
}
const load = (path) => buildSchema(readFileSync(path, 'utf8'));
const changes = await diff(load(oldPath), load(newPath));
const changelog = readFileSync(changelogPath, 'utf8');
const breaking = changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
const unannounced = breaking.filter((c) => !c.path || !changelog.includes('`' + c.path + '`'));
for (const c of changes) {
  console.log(`${c.criticality.level}\t${c.path ?? '-'}\t${c.message}`);
}
console.log(`${changes.length} change(s), ${breaking.length} breaking, ${unannounced.length} unannounced`);
if (unannounced.length > 0) {
  for (const c of unannounced) {
    console.error(`unannounced breaking change: ${c.path ?? '-'}: ${c.message}`);
  }
  console.error('announce each in CHANGELOG.md with its coordinate in backticks, or deprecate instead of removing');
  process.exit(1);
}
