import { useEffect, useState } from "react";

/** Whole seconds from `now` until `end` (ms since the epoch); 0 once past or unknown. */
export function secondsUntil(end: number, now: number = Date.now()): number {
  return Number.isNaN(end) ? 0 : Math.max(0, Math.ceil((end - now) / 1000));
}

/** Seconds left until the server's `expiresAt`, ticking each second. */
export function useSecondsLeft(expiresAt: string | undefined): number {
  const end = expiresAt ? Date.parse(expiresAt) : Number.NaN;
  const [seconds, setSeconds] = useState(() => secondsUntil(end));
  useEffect(() => {
    setSeconds(secondsUntil(end));
    const timer = window.setInterval(() => setSeconds(secondsUntil(end)), 1000);
    return () => window.clearInterval(timer);
  }, [end]);
  return seconds;
}

/** `m:ss`, as the checkout shows the hold. */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.trunc(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
