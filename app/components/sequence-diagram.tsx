import type { Sequence, SequenceMessage } from "@/lib/strategies";

/**
 * A sequence diagram drawn as SVG from its data (lib/strategies: a kind's
 * facts), with the same messages listed as text: the drawing is an image with
 * a title, described by the list, which is there for anyone who wants the
 * words. It is drawn twice, for a wide and for a narrow box, and the box's
 * own width (a container query, app/globals.css) shows one: the labels keep a
 * readable size on a phone instead of shrinking with the drawing.
 */

const PAD = 8;
const FONT = 12;
const LINE = 15;
/** An average advance of one character at FONT px, a little over what common sans-serif fonts need. */
const CHAR = 6.3;
const HEAD_LINE = 16;
const PHASE = 24;
const SELF_LOOP = 22;
/** The drawings' widths (viewBox units, about CSS pixels at the sizes they are shown). */
const WIDTHS = { wide: 480, narrow: 300 } as const;

/**
 * Splits a label into lines of at most `max` characters, at spaces; a longer
 * word is cut after "=", ".", "," or "/" or before "<", or else at `max`.
 * Each line but the last keeps what followed it (a space, or nothing inside a
 * word), so the lines joined read as the label.
 */
function wrap(text: string, max: number): string[] {
  const tokens: { text: string; glued: boolean }[] = [];
  for (const word of text.split(" ")) {
    let rest = word;
    let glued = false;
    while (rest.length > max) {
      let cut = max;
      for (let at = max; at > 1; at -= 1) {
        if ("=.,/".includes(rest[at - 1]!) || rest[at] === "<") {
          cut = at;
          break;
        }
      }
      tokens.push({ text: rest.slice(0, cut), glued });
      rest = rest.slice(cut);
      glued = true;
    }
    tokens.push({ text: rest, glued });
  }
  const lines: string[] = [];
  let line = "";
  for (const token of tokens) {
    const joined = line === "" ? token.text : `${line}${token.glued ? "" : " "}${token.text}`;
    if (line === "" || joined.length <= max) {
      line = joined;
    } else {
      lines.push(token.glued ? line : `${line} `);
      line = token.text;
    }
  }
  lines.push(line);
  return lines;
}

interface Placed {
  message: SequenceMessage;
  number: number;
  lines: string[];
  /** Baseline of the first label line. */
  textY: number;
  /** Where the arrow runs (for a self-message: where its loop starts). */
  arrowY: number;
}

type Row = { kind: "phase"; title: string; y: number } | { kind: "message"; placed: Placed };

function layout(sequence: Sequence, width: number) {
  const columnWidth = (width - 2 * PAD) / sequence.participants.length;
  const x = (index: number) => PAD + columnWidth * (index + 0.5);
  const headLines = sequence.participants.map((name) => wrap(name, Math.floor((columnWidth - 12) / (CHAR * 1.1))));
  const headHeight = Math.max(...headLines.map((lines) => lines.length)) * HEAD_LINE + 12;
  let y = PAD + headHeight + 10;
  let number = 0;
  const rows: Row[] = [];
  for (const phase of sequence.phases) {
    rows.push({ kind: "phase", title: phase.title, y });
    y += PHASE + 8;
    for (const message of phase.messages) {
      number += 1;
      const self = message.from === message.to;
      // A self-message's words go right of its loop; an arrow's sit above it, between the two lifelines.
      const room = self ? width - PAD - (x(message.from) + SELF_LOOP + 6) : Math.abs(x(message.to) - x(message.from)) - 8;
      const lines = wrap(`${number}. ${message.label}`, Math.max(8, Math.floor(room / CHAR)));
      const textY = y + FONT;
      const arrowY = self ? y + 4 : y + lines.length * LINE + 2;
      rows.push({ kind: "message", placed: { message, number, lines, textY, arrowY } });
      y = self ? Math.max(arrowY + SELF_LOOP / 2 + 4, y + lines.length * LINE) + 10 : arrowY + 12;
    }
  }
  return { x, columnWidth, headLines, headHeight, rows, height: y + PAD };
}

/** The lines of one label, one under the other. */
function Lines({ lines, x, step }: { lines: string[]; x: number; step: number }) {
  return lines.map((line, index) => (
    <tspan key={index} x={x} dy={index === 0 ? 0 : step}>
      {line}
    </tspan>
  ));
}

function Drawing({ id, title, describedBy, sequence, variant }: { id: string; title: string; describedBy: string; sequence: Sequence; variant: keyof typeof WIDTHS }) {
  const width = WIDTHS[variant];
  const { x, columnWidth, headLines, headHeight, rows, height } = layout(sequence, width);
  const svgId = `${id}-${variant}`;
  return (
    <svg className={variant} viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${svgId}-title`} aria-describedby={describedBy}>
      <title id={`${svgId}-title`}>{title}</title>
      <defs>
        <marker id={`${svgId}-arrow`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" className="sequence-head" />
        </marker>
      </defs>
      {sequence.participants.map((name, index) => (
        <g key={name} className="sequence-participant">
          <rect x={x(index) - columnWidth / 2 + 6} y={PAD} width={columnWidth - 12} height={headHeight} rx={5} />
          <text x={x(index)} y={PAD + 6 + HEAD_LINE * 0.8 + (headHeight - 12 - headLines[index]!.length * HEAD_LINE) / 2} textAnchor="middle">
            <Lines lines={headLines[index]!} x={x(index)} step={HEAD_LINE} />
          </text>
          <line className="sequence-lifeline" x1={x(index)} x2={x(index)} y1={PAD + headHeight} y2={height - PAD} />
        </g>
      ))}
      {rows.map((row) => {
        if (row.kind === "phase")
          return (
            <g key={`phase-${row.title}`} className="sequence-phase">
              <rect x={PAD} y={row.y} width={width - 2 * PAD} height={PHASE} rx={4} />
              <text x={PAD + 8} y={row.y + PHASE / 2 + 4}>
                {row.title}
              </text>
            </g>
          );
        const { message, number, lines, textY, arrowY } = row.placed;
        const from = x(message.from);
        const to = x(message.to);
        const self = message.from === message.to;
        const textX = self ? from + SELF_LOOP + 6 : (from + to) / 2;
        return (
          <g key={number} className={message.reply ? "sequence-message reply" : "sequence-message"}>
            {self ? (
              <path d={`M${from},${arrowY} h${SELF_LOOP} v${SELF_LOOP / 2} h${-SELF_LOOP + 2}`} markerEnd={`url(#${svgId}-arrow)`} />
            ) : (
              <line x1={from} x2={to + (to > from ? -2 : 2)} y1={arrowY} y2={arrowY} markerEnd={`url(#${svgId}-arrow)`} />
            )}
            <text x={textX} y={textY} textAnchor={self ? "start" : "middle"}>
              <Lines lines={lines} x={textX} step={LINE} />
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function describe(sequence: Sequence, message: SequenceMessage): string {
  const from = sequence.participants[message.from];
  const to = sequence.participants[message.to];
  return message.from === message.to ? `${from}: ${message.label}` : `${from} to ${to}: ${message.label}`;
}

export function SequenceDiagram({ id, title, sequence }: { id: string; title: string; sequence: Sequence }) {
  const listId = `${id}-steps`;
  // The number of each phase's first message: the drawing numbers them straight through.
  const phases = sequence.phases.map((phase, index) => ({
    phase,
    first: 1 + sequence.phases.slice(0, index).reduce((count, earlier) => count + earlier.messages.length, 0),
  }));
  return (
    <figure className="sequence" data-testid={id}>
      <Drawing id={id} title={title} describedBy={listId} sequence={sequence} variant="wide" />
      <Drawing id={id} title={title} describedBy={listId} sequence={sequence} variant="narrow" />
      <details className="sequence-text">
        <summary>The diagram as text</summary>
        <div id={listId}>
          {phases.map(({ phase, first }) => (
            <div key={phase.title}>
              <p>{phase.title}</p>
              <ol start={first}>
                {phase.messages.map((message, index) => (
                  <li key={index}>{describe(sequence, message)}</li>
                ))}
              </ol>
            </div>
          ))}
        </div>
      </details>
    </figure>
  );
}
