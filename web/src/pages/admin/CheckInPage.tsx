import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { useParams } from "react-router";
import type { Event } from "../../api/client";
import { ApiError, messageOf } from "../../api/errors";
import { formatDateTime } from "../../components/format";
import { useCheckIn, useEventStats } from "../../events/queries";
import { WithEvent } from "../../events/WithEvent";

/** What the last scan came to, said in words and in colour. */
type Result = { kind: "admitted" | "refused"; text: string };

export default function CheckInPage() {
  const { id = "" } = useParams();
  return <WithEvent id={id}>{(event) => <CheckIn event={event} />}</WithEvent>;
}

/** The scan's answer as the door staff read it. */
function resultOf(error: unknown): Result {
  if (!(error instanceof ApiError)) return { kind: "refused", text: messageOf(error) };
  switch (error.code) {
    case "ALREADY_CHECKED_IN": {
      const at = (error.data as { checkedInAt?: unknown } | undefined)?.checkedInAt;
      return {
        kind: "refused",
        text: `Already checked in at ${typeof at === "string" ? formatDateTime(at) : "an earlier scan"}`,
      };
    }
    case "TICKET_NOT_VALID":
      return { kind: "refused", text: "Not valid: the booking is not confirmed" };
    case "WRONG_EVENT":
      return { kind: "refused", text: "Wrong event: this ticket is for another event" };
    case "INVALID_TICKET":
    case "VALIDATION_ERROR":
      return { kind: "refused", text: "Invalid ticket: this code was not issued here" };
    default:
      return { kind: "refused", text: messageOf(error) };
  }
}

/** BarcodeDetector where the browser has one (Chromium on Android, for instance). */
type Detector = { detect(source: CanvasImageSource): Promise<{ rawValue: string }[]> };
function barcodeDetector(): Detector | undefined {
  const Ctor = (globalThis as { BarcodeDetector?: new (options: { formats: string[] }) => Detector }).BarcodeDetector;
  return Ctor ? new Ctor({ formats: ["qr_code"] }) : undefined;
}

function CheckIn({ event }: { event: Event }) {
  const inputId = useId();
  const input = useRef<HTMLInputElement>(null);
  const [code, setCode] = useState("");
  const [result, setResult] = useState<Result | null>(null);
  const checkIn = useCheckIn(event.id);
  const stats = useEventStats(event.id);

  function admit(scanned: string) {
    const trimmed = scanned.trim();
    if (trimmed === "" || checkIn.isPending) return;
    checkIn.mutate(trimmed, {
      onSuccess: (admission) =>
        setResult({ kind: "admitted", text: `Admitted: ${admission.ticketNumber}, ${admission.holderName}` }),
      onError: (error) => setResult(resultOf(error)),
      onSettled: () => {
        // Ready for the next scan at once.
        setCode("");
        input.current?.focus();
      },
    });
  }

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    admit(code);
  }

  return (
    <section className="narrow check-in">
      <h1>Check-in</h1>
      <p className="event-name">{event.name}</p>
      <Camera onCode={admit} />
      <form onSubmit={onSubmit} className="scan">
        <label htmlFor={inputId}>Ticket code</label>
        <div className="scan-row">
          <input
            id={inputId}
            ref={input}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            autoComplete="off"
            autoCapitalize="off"
            spellCheck={false}
            // biome-ignore lint/a11y/noAutofocus: the page exists to take scans; a handheld scanner types here at once.
            autoFocus
          />
          <button type="submit" className="primary" disabled={checkIn.isPending}>
            Check in
          </button>
        </div>
      </form>
      <div role="status" className={`scan-result ${result?.kind ?? ""}`}>
        {checkIn.isPending ? "Checking…" : result?.text}
      </div>
      {stats.data && (
        <p className="counter">
          {stats.data.ticketsCheckedIn} of {stats.data.ticketsSold} checked in
        </p>
      )}
    </section>
  );
}

/** The camera scanner, where the browser can read QR codes itself; otherwise nothing. */
function Camera({ onCode }: { onCode: (code: string) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [on, setOn] = useState(false);
  const detector = useRef(barcodeDetector());
  const last = useRef("");

  useEffect(() => {
    if (!on || !detector.current || !video.current) return;
    let stopped = false;
    let stream: MediaStream | undefined;
    const element = video.current;
    navigator.mediaDevices
      ?.getUserMedia({ video: { facingMode: "environment" } })
      .then(async (media) => {
        stream = media;
        element.srcObject = media;
        await element.play();
        while (!stopped) {
          const found = await detector.current?.detect(element).catch(() => []);
          const value = found?.[0]?.rawValue;
          // The same code in front of the camera is one scan, not one per frame.
          if (value && value !== last.current) {
            last.current = value;
            onCode(value);
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      })
      .catch(() => setOn(false));
    return () => {
      stopped = true;
      for (const track of stream?.getTracks() ?? []) track.stop();
    };
  }, [on, onCode]);

  if (!detector.current) return null;
  return (
    <div className="camera">
      <button type="button" onClick={() => setOn((v) => !v)}>
        {on ? "Stop camera" : "Scan with camera"}
      </button>
      {on && <video ref={video} muted playsInline aria-label="Camera view" />}
    </div>
  );
}
