import { ForbiddenNotice } from "./forbidden-notice";

/** Rendered (with status 403) when an admin page calls `forbidden()`. */
export default function AdminForbidden() {
  return <ForbiddenNotice />;
}
