// Table cells and badges more than one panel shows the same way.

/** A person's (or bot's) name, cut with an ellipsis, with a "bot" tag for house bots. */
export function NameCell({ name, role }: { name: string; role?: string }) {
  return (
    <td className="ellipsis name-cell" title={name}>
      {name}
      {role === 'bot' && <span className="tag">bot</span>}
    </td>
  );
}

/** An order status badge (`status-filled`, ...). */
export function Status({ status, testid }: { status: string; testid: string }) {
  return (
    <span className={`status status-${status}`} data-testid={testid}>
      {status}
    </span>
  );
}
