import Link from "next/link";

const databaseDiagram = `Browser                     Server                 Database
  | POST sign-in  ------------>|                         |
  |                            |-- INSERT session ------>|
  |<-- Set-Cookie: sot.session=<random id>               |
  | GET /dashboard + cookie -->|                         |
  |                            |-- SELECT by hash(id) -->|
  |<-- page -------------------|                         |`;

const jwtDiagram = `Browser                     Server (holds the private key)
  | POST sign-in  ------------>|
  |                            |-- sign {sub, exp, ...}
  |<-- Set-Cookie: sot.jwt=<header.claims.signature>
  | GET /dashboard + cookie -->|
  |                            |-- verify signature (no lookup)
  |<-- page -------------------|`;

export default function HomePage() {
  return (
    <>
      <h1>How does a server remember you?</h1>
      <p>
        HTTP forgets you between requests. After you sign in, the server gives your browser something to send back
        every time. There are two ways to do it, and this app runs both, side by side, so you can see what each
        really puts in your browser and on the server, and what sign-out can and cannot undo.
      </p>
      <div className="grid-2">
        <section className="card flow database" aria-labelledby="database-flow">
          <h3 id="database-flow">Database session</h3>
          <ol>
            <li>At sign-in the server stores a session row and gives the browser a random id in an HttpOnly cookie.</li>
            <li>Every request looks the id up. The database keeps only its hash.</li>
            <li>Sign-out deletes the row: the id is dead at once.</li>
          </ol>
          <div className="diagram" role="img" aria-label="Database session sequence">
            {databaseDiagram}
          </div>
        </section>
        <section className="card flow jwt" aria-labelledby="jwt-flow">
          <h3 id="jwt-flow">Token (JWT)</h3>
          <ol>
            <li>At sign-in the server signs a JSON Web Token with its private key; the claims travel in the cookie.</li>
            <li>Every request verifies the signature: no lookup, and any service with the public key can do it.</li>
            <li>Sign-out deletes the cookie, but a copy stays valid until it expires.</li>
          </ol>
          <div className="diagram" role="img" aria-label="JWT sequence">
            {jwtDiagram}
          </div>
        </section>
      </div>
      <p>
        <Link href="/login">Sign in</Link> and pick a strategy, or <Link href="/register">create an account</Link>.
      </p>
    </>
  );
}
