// GraphQL over fetch, for GovHub's pages (console, portal).
//
// request(query, variables, {token}) POSTs to the hub's GraphQL endpoint (the path in
// <meta name="govhub-graphql">, default /graphql) with the bearer token in the Authorization
// header — never in the URL — and returns the response's data. Anything else becomes a
// GraphQLError whose .errors list says what went wrong in words: [{message, code, path}], with
// code taken from the error's extensions.code (FORBIDDEN, BAD_USER_INPUT, CONFLICT, …), or
// HTTP_<status> / UNAUTHENTICATED / NETWORK for failures outside GraphQL, and retryable when the
// hub marked the error so (extensions.retryable: asking again shortly may succeed). A response with
// both data and errors (a partial result) throws too; the data is kept in .data.

export class GraphQLError extends Error {
  constructor(errors, data = null) {
    super(errors.map((e) => (e.code ? `${e.code}: ` : '') + e.message).join('; '));
    this.name = 'GraphQLError';
    this.errors = errors;
    this.data = data;
  }

  // codes reports the distinct error codes.
  get codes() {
    return [...new Set(this.errors.map((e) => e.code).filter(Boolean))];
  }

  // retryable reports whether the hub marked every error retryable.
  get retryable() {
    return this.errors.length > 0 && this.errors.every((e) => e.retryable);
  }
}

export function endpoint() {
  const m = document.querySelector('meta[name="govhub-graphql"]');
  return (m && m.content) || '/graphql';
}

export async function request(query, variables = {}, { token = '', signal } = {}) {
  const headers = {
    'Content-Type': 'application/json',
    Accept: 'application/graphql-response+json, application/json;q=0.9',
  };
  if (token) headers.Authorization = 'Bearer ' + token;
  let resp;
  try {
    resp = await fetch(endpoint(), {
      method: 'POST', headers, body: JSON.stringify({ query, variables }),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer', signal,
    });
  } catch (e) {
    throw new GraphQLError([{ message: String(e && e.message || e), code: 'NETWORK' }]);
  }
  const text = await resp.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    const code = resp.status === 401 ? 'UNAUTHENTICATED' : 'HTTP_' + resp.status;
    throw new GraphQLError([{ message: text.trim() || `${resp.status} ${resp.statusText}`, code }]);
  }
  if (body && Array.isArray(body.errors) && body.errors.length) {
    throw new GraphQLError(body.errors.map((e) => ({
      message: String(e.message || ''),
      code: (e.extensions && e.extensions.code) || '',
      retryable: !!(e.extensions && e.extensions.retryable === true),
      path: e.path || null,
    })), body.data || null);
  }
  if (!resp.ok || !body || body.data == null) {
    throw new GraphQLError([{ message: `${resp.status} ${resp.statusText}`, code: 'HTTP_' + resp.status }]);
  }
  return body.data;
}

// fieldsOf returns the names of the fields of a schema type (e.g. "Query", "Mutation"), through
// one small introspection query, or null if the hub does not answer it (introspection off).
export async function fieldsOf(typeName, opts) {
  try {
    const d = await request('query($n: String!) { __type(name: $n) { fields { name } } }', { n: typeName }, opts);
    return d.__type ? d.__type.fields.map((f) => f.name) : [];
  } catch {
    return null;
  }
}
