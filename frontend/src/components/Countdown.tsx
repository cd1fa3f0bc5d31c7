import { useEffect, useState } from 'react';
import { formatCountdown, remainingMs } from '../countdown';

/** Time left in the market session, ticking every second. */
export function Countdown({ closesAt, testid = 'market-countdown' }: { closesAt: string; testid?: string }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  const left = remainingMs(closesAt, now);
  if (left === null) return null;
  return (
    <span className="countdown" data-testid={testid} title={`The session closes at ${new Date(closesAt).toLocaleTimeString()}`}>
      closes in {formatCountdown(left)}
    </span>
  );
}
