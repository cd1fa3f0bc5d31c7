import { useCallback, useMemo, useState } from 'react';
import { errorText } from '../errors';

export interface Task {
  busy: boolean;
  /** what is under way (the label given to `run`; '' without one), null when idle */
  running: string | null;
  error: string | null;
  note: string | null;
  /**
   * Runs `fn` with the error and note cleared: its result (a string) becomes the
   * note, a failure the error (after `label: ` when labelled). True when it worked.
   */
  run(fn: () => Promise<string | void>, label?: string): Promise<boolean>;
  /** a check failed before anything was sent */
  fail(message: string): void;
  clear(): void;
}

/** The busy / error / note of a form that sends one command at a time. */
export function useTask(): Task {
  const [running, setRunning] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  const clear = useCallback(() => {
    setError(null);
    setNote(null);
  }, []);

  const run = useCallback(
    async (fn: () => Promise<string | void>, label?: string) => {
      setRunning(label ?? '');
      clear();
      try {
        const done = await fn();
        if (done) setNote(done);
        return true;
      } catch (exc) {
        setError(label ? `${label}: ${errorText(exc)}` : errorText(exc));
        return false;
      } finally {
        setRunning(null);
      }
    },
    [clear],
  );

  return useMemo(
    () => ({ busy: running !== null, running, error, note, run, fail: setError, clear }),
    [running, error, note, run, clear],
  );
}
