import type { ReactNode } from 'react';

interface Props {
  /** the panel's own class, after `panel` */
  className: string;
  /** the section's accessible name */
  label: string;
  testid?: string;
  /** the heading; without one, `head` brings its own */
  title?: ReactNode;
  /** more of the head row after the heading: counts, toggles, buttons */
  head?: ReactNode;
  /** more classes of the head row */
  headClass?: string;
  children?: ReactNode;
}

/** A screen panel: a section with its head row; the body is the caller's. */
export function Panel({ className, label, testid, title, head, headClass, children }: Props) {
  return (
    <section className={`panel ${className}`} aria-label={label} data-testid={testid}>
      <div className={headClass ? `panel-head ${headClass}` : 'panel-head'}>
        {title !== undefined && <h2>{title}</h2>}
        {head}
      </div>
      {children}
    </section>
  );
}
