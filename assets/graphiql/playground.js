// Starts GraphiQL (loaded by index.html from the router, never from a CDN)
// against the router's own GraphQL endpoint. Everything the playground does
// goes to that endpoint only.
(function () {
  "use strict";

  var container = document.getElementById("graphiql");
  var endpoint = new URL(container.dataset.endpoint, window.location.href).toString();

  var defaultQuery = [
    "# Janta GraphQL playground",
    "#",
    "# Run an operation: Ctrl-Enter or the ▶ button.",
    "# Docs (the book, top left) browse the schema.",
    "#",
    "# To act as a signed-in user: get an access",
    "# token (the `login` mutation returns one),",
    "# open Headers below and paste",
    '#   {"Authorization": "Bearer <token>"}',
    "# Headers are kept in this browser.",
    "",
    "{",
    "  categories {",
    "    name",
    "  }",
    "}",
    "",
  ].join("\n");

  var fetcher = GraphiQL.createFetcher({ url: endpoint });

  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    }),
  );
})();
