import { Link } from "react-router";

export function NotFoundPage() {
  return (
    <section className="not-found">
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <Link to="/events">Back to the event listing</Link>
    </section>
  );
}
