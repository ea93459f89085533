import styles from "@/app/components/account.module.css";

/** "2030-01-01 12:34:56 UTC": the same on server and client, no locale guessing. */
export function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export function UtcTime({ date }: { date: Date }) {
  return <time dateTime={date.toISOString()}>{formatUtc(date)}</time>;
}

const KIND: Record<string, string> = {
  database: "Database session",
  jwt: "JWT (browser)",
  api: "API tokens",
};

/** The cells every session table shares: kind (with "This device"), device, IP, created, last seen. */
export function SessionCells(props: {
  strategy: string;
  current: boolean;
  device: string;
  userAgent?: string | null;
  ip: string | null;
  createdAt: Date;
  lastSeenAt: Date;
}) {
  return (
    <>
      <td>
        {KIND[props.strategy] ?? props.strategy} <code>{props.strategy}</code>
        {props.current && (
          <>
            {" "}
            <strong className={styles.badge}>This device</strong>
          </>
        )}
      </td>
      <td title={props.userAgent ?? undefined}>{props.device}</td>
      <td>{props.ip ?? "—"}</td>
      <td>
        <UtcTime date={props.createdAt} />
      </td>
      <td>
        <UtcTime date={props.lastSeenAt} />
      </td>
    </>
  );
}
