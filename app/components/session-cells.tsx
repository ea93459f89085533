import styles from "@/app/components/account.module.css";
import { sessionLabel } from "@/lib/strategies";

/** "2030-01-01 12:34:56 UTC": the same on server and client, no locale guessing. */
export function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export function UtcTime({ date }: { date: Date }) {
  return <time dateTime={date.toISOString()}>{formatUtc(date)}</time>;
}

/** The cells every session table shares (the kind's label comes from the server: lib/strategies): kind (with "This device"), device, IP, created, last seen. */
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
        {sessionLabel(props.strategy)} <code>{props.strategy}</code>
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
