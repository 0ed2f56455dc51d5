// Apollo Gateway (Node) over the same running subgraphs as the router, for
// `bench/run.sh gateway`: the baseline Hive Router is compared with.
//
// Loads the same supergraph.graphql (supergraphSdl, no introspection) and
// sends each subgraph what Hive Router sends it (router-config/dev.yaml
// `headers` and the janta_client_address plugin in src/router.rs):
//   - Authorization, x-request-id, traceparent, tracestate: propagated from
//     the client's request;
//   - X-Forwarded-For: the client's address. Subgraphs trust it from
//     loopback and then skip their own per-client rate limit, as they do
//     for the router (crates/platform/src/server.rs `admit`).
// What the gateway does NOT do that the router does: verify the JWT, apply
// per-user rate limits and the query cost limit, trusted documents. Both
// sides therefore pay the subgraphs' work equally; the router pays a little
// extra of its own.
//
// Environment: JANTA_PORT (the platform's router port; subgraphs are on the
// next six ports in the order users, catalog, prescriptions, orders,
// payments, notifications), GATEWAY_PORT (this server's port), SUPERGRAPH
// (path of supergraph.graphql). Modules come from NODE_PATH (bench/run.sh
// installs @apollo/gateway and @apollo/server into a scratch directory).

const fs = require("fs");
const { ApolloServer } = require("@apollo/server");
const { startStandaloneServer } = require("@apollo/server/standalone");
const { ApolloGateway, RemoteGraphQLDataSource } = require("@apollo/gateway");

const DOMAINS = ["users", "catalog", "prescriptions", "orders", "payments", "notifications"];
const base = Number(process.env.JANTA_PORT || 4000);
const port = Number(process.env.GATEWAY_PORT || 4100);
const supergraphSdl = fs.readFileSync(process.env.SUPERGRAPH || "supergraph.graphql", "utf8");
const PROPAGATED = ["authorization", "x-request-id", "traceparent", "tracestate"];

/** The running subgraph `name` on this platform's ports. */
function subgraphUrl(name, url) {
  const index = DOMAINS.indexOf(name);
  return index < 0 ? url : `http://127.0.0.1:${base + 1 + index}/graphql`;
}

/** Sends each subgraph the headers the router sends. */
class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    for (const name of PROPAGATED) {
      if (context.headers && context.headers[name]) {
        request.http.headers.set(name, context.headers[name]);
      }
    }
    if (context.clientAddress) {
      request.http.headers.set("x-forwarded-for", context.clientAddress);
    }
  }
}

async function main() {
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => new ForwardingDataSource({ url: subgraphUrl(name, url) }),
  });
  const server = new ApolloServer({ gateway, csrfPrevention: false, introspection: true });
  const { url } = await startStandaloneServer(server, {
    listen: { port, host: "127.0.0.1" },
    context: async ({ req }) => ({
      headers: req.headers,
      clientAddress: (req.socket.remoteAddress || "").replace(/^::ffff:/, ""),
    }),
  });
  console.log(`apollo gateway ready at ${url}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
