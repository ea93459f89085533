import type { ReactNode } from "react";
import styles from "./account.module.css";

/**
 * A table of the account and admin pages: named by its section's heading,
 * scrolling sideways on narrow screens. `actions` adds a last column for the
 * rows' buttons, its header named for screen readers only.
 */
export function AccountTable({
  labelledBy,
  testId,
  columns,
  actions = false,
  children,
}: {
  labelledBy: string;
  testId: string;
  columns: string[];
  actions?: boolean;
  children: ReactNode;
}) {
  return (
    <div className={styles.tableScroll}>
      <table className={styles.table} aria-labelledby={labelledBy} data-testid={testId}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span className={styles.visuallyHidden}>Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
