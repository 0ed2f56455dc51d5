// Runs the GraphQL-over-HTTP server audits of the `graphql-http` package
// (https://github.com/graphql/graphql-http) against the GraphQL endpoint
// given as the first argument, and prints every result as one JSON array
// of {id, name, status, reason}; status is "ok", or "error" (a failed MUST),
// "warn" (a failed SHOULD) or "notice" (a failed MAY). Started by
// audit.rs, which installs the package and judges the results.
const { serverAudits } = require('graphql-http');

async function main(url) {
  if (typeof fetch !== 'function') {
    throw new Error(`Node.js 18 or newer is needed (global fetch); this is ${process.version}`);
  }
  const results = [];
  for (const audit of serverAudits({ url })) {
    const { id, name, status, reason } = await audit.fn();
    results.push({ id, name, status, reason });
  }
  process.stdout.write(JSON.stringify(results));
}

main(process.argv[2]).catch((err) => {
  console.error(err);
  process.exit(1);
});
