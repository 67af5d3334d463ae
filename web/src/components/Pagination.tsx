import type { PageMeta } from "../api/client";

/** "Previous page" / "Next page", disabled at the ends. */
export function Pagination({ meta, onPage }: { meta: PageMeta; onPage: (page: number) => void }) {
  if (meta.totalPages <= 1) return null;
  return (
    <nav className="pagination" aria-label="Pagination">
      <button type="button" disabled={!meta.hasPrev} onClick={() => onPage(meta.page - 1)}>
        Previous page
      </button>
      <span>
        Page {meta.page} of {meta.totalPages}
      </span>
      <button type="button" disabled={!meta.hasNext} onClick={() => onPage(meta.page + 1)}>
        Next page
      </button>
    </nav>
  );
}
