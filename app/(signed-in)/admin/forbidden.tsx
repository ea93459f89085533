import Link from "next/link";

/** Rendered (with status 403) when an admin page calls `forbidden()`. */
export default function AdminForbidden() {
  return (
    <>
      <h1>403 — Forbidden</h1>
      <p role="alert">This page is for administrators only.</p>
      <p>
        <Link href="/dashboard">Back to the dashboard</Link>
      </p>
    </>
  );
}
