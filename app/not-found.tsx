import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Page not found · Session or Token" };

/** Any path that is not a page here (status 404). */
export default function NotFound() {
  return (
    <section className="card" aria-labelledby="not-found">
      <h1 id="not-found">Page not found</h1>
      <p>No page lives under this address.</p>
      <p>
        <Link href="/">Home</Link> · <Link href="/compare">Comparison lab</Link>
      </p>
    </section>
  );
}
