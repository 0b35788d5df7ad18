// node audit.mjs URL TOKEN: runs the graphql-http server audit (GraphQL over HTTP conformance)
// against the GraphQL endpoint at URL, every request carrying "Authorization: Bearer TOKEN", and
// prints one JSON array of {id, name, status, reason} on stdout (status: ok, notice, warn, error).
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs URL TOKEN');
  process.exit(2);
}

// The hub refuses unauthenticated requests: add the bearer token to every request the audit makes.
function fetchWithToken(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: fetchWithToken });
const out = [];
for (const r of results) {
  const o = { id: r.id, name: r.name, status: r.status };
  if (r.status !== 'ok') {
    let body = '';
    try {
      body = await r.response.text();
    } catch {
      // the body may have been read by the audit already
    }
    o.reason = r.reason;
    o.httpStatus = r.response.status;
    o.contentType = r.response.headers.get('content-type');
    o.body = body.slice(0, 300);
  }
  out.push(o);
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
