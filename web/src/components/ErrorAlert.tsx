import { messageOf, NetworkError } from "../api/errors";

/** The API's message (or a plain sentence) in an alert; a retry button when asking again may help. */
export function ErrorAlert({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const offline = error instanceof NetworkError;
  return (
    <div role="alert" className="alert">
      <p>{messageOf(error)}</p>
      {onRetry && (offline || !isClientError(error)) && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

function isClientError(error: unknown): boolean {
  return typeof error === "object" && error !== null && "status" in error && Number(error.status) < 500;
}
