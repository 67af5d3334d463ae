// A ticket's QR code, drawn as SVG from the module grid (no canvas, no HTML strings).
import { encode } from "uqr";

/** The QR code of `code`, named for screen readers by its ticket number. */
export function TicketQr({ code, number }: { code: string; number: string }) {
  // Medium error correction: a phone screen with a crack or glare still scans.
  const { data, size } = encode(code, { ecc: "M", border: 2 });
  let path = "";
  data.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) path += `M${x} ${y}h1v1h-1z`;
    });
  });
  return (
    <svg
      className="ticket-qr"
      role="img"
      aria-label={`Ticket ${number}`}
      viewBox={`0 0 ${size} ${size}`}
      shapeRendering="crispEdges"
    >
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}
