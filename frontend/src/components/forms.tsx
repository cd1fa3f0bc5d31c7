// The pieces every dashboard form repeats: the form that sends without a
// page load, and the error / done line under it.

import type { ReactNode } from 'react';

/** A form whose submit runs `onSubmit` (no page load). */
export function Form({ className, testid, onSubmit, children }: { className: string; testid?: string; onSubmit(): void; children: ReactNode }) {
  return (
    <form
      className={className}
      data-testid={testid}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}


interface MessagesProps {
  error: ReactNode;
  note: ReactNode;
  // snake_case: the README check (tests/unit/test_frontend.py) finds a hook by a prop name ending in lowercase "testid"
  error_testid?: string;
  note_testid?: string;
  /** `div`: each on a line of its own */
  as?: 'span' | 'div';
}

/** A form's outcome: the error (red) and the note of what was done (green). */
export function Messages({ error, note, error_testid, note_testid, as: Tag = 'span' }: MessagesProps) {
  return (
    <>
      {error && (
        <Tag className="form-error" data-testid={error_testid}>
          {error}
        </Tag>
      )}
      {note && (
        <Tag className="form-ok" data-testid={note_testid}>
          {note}
        </Tag>
      )}
    </>
  );
}
