import type { ReactNode } from 'react';

export interface Column {
  label: ReactNode;
  /** a number column (right-aligned) */
  num?: boolean;
  title?: string;
}

/** A number column's header. */
export const num = (label: ReactNode, title?: string): Column => ({ label, num: true, title });

/** A row across the whole table: the empty state, or a note under the rows. */
export function NoteRow({ cols, className = 'empty', children }: { cols: number; className?: string; children: ReactNode }) {
  return (
    <tr>
      <td colSpan={cols} className={className}>
        {children}
      </td>
    </tr>
  );
}

interface Props {
  columns: (Column | string)[];
  /** the table's classes (`grid`, `grid compact`, ...) */
  className?: string;
  testid?: string;
  /** shown in one row across the table when set (the caller decides when the table is empty) */
  empty?: ReactNode;
  /** the rows */
  children?: ReactNode;
}

/** The grid every panel lists its rows in: the header from `columns`, the rows the caller renders. */
export function Table({ columns, className = 'grid', testid, empty, children }: Props) {
  return (
    <table className={className} data-testid={testid}>
      <thead>
        <tr>
          {columns.map((c, i) => {
            const col = typeof c === 'string' ? { label: c } : c;
            return (
              <th key={i} className={col.num ? 'num' : undefined} title={col.title}>
                {col.label}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {children}
        {empty ? <NoteRow cols={columns.length}>{empty}</NoteRow> : null}
      </tbody>
    </table>
  );
}
